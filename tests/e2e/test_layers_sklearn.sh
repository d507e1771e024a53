#!/usr/bin/env bash
# Layer detection without markup on Debian's scikit-learn (row-major
# cblas_dgemm from numpy): examples/sklearn_mlp.py trains
#   clf   MLPClassifier((64, 32)), digits, batch 128: 14 full batches and a
#         ragged one of 5 per epoch, then score() over all 1797 samples;
#   reg   MLPRegressor((100, 50)), 20 features, 3 targets, batch 96;
#   clf1  MLPClassifier((64,)), digits, batch 200 (a two-layer network).
# Each must give exactly its layers, named by their features (never by a
# batch), every call in them, and one iteration per batch.  Per batch a
# layer makes its forward and its weight gradient, and all but the first
# its input gradient; score() adds one forward each.
# Exit 0 pass, 1 fail, 77 skip (python3-sklearn missing).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c 'import sklearn.neural_network' 2>/dev/null || skip "python3-sklearn is not installed (apt-get install python3-sklearn)"
E=3
for m in clf reg clf1; do
    record "$tmp/$m" "$py" examples/sklearn_mlp.py $m --epochs $E >/dev/null || fail "sklearn_mlp.py $m failed under the shim"
    report_json "$tmp/$m" "$tmp/$m.json" || fail "analyzer exit $? on $m: $(tail -3 "$tmp/$m.json.err")"
done
pycheck "$tmp/clf.json" "$tmp/reg.json" "$tmp/clf1.json" $E <<'PY' || exit 1
E = int(sys.argv[4])
A = "\u2192"
def check(path, dims, n, batch, score):
    r = load(path)
    steps = E * -(-n // batch)             # ceil: the ragged batch is a step too
    want = {}
    for i in range(len(dims) - 1):
        want["linear %d%s%d" % (dims[i], A, dims[i + 1])] = steps * (2 if i == 0 else 3) + score
    lay = {l["name"]: l["calls"] for l in r["layers"]}
    eq(path + " layers", lay, want)
    eq(path + " iterations", r["iterations"], steps)
    for l in r["layers"]:
        eq(path + " " + l["name"] + " iterations", l["iterations"], steps)
    total = sum(o["calls"] for o in r["ops"])
    eq(path + " share of calls in layers", sum(want.values()) / total, 1.0)
    print("%s: %s, %d iterations, 100%% of %d calls in layers" % (path.split("/")[-1], ", ".join(want), steps, total))
check(sys.argv[1], [64, 64, 32, 10], 1797, 128, 1)
check(sys.argv[2], [20, 100, 50, 3], 960, 96, 1)
check(sys.argv[3], [64, 64, 10], 1797, 200, 1)
PY
echo "sklearn: MLPClassifier (ragged batches), MLPRegressor and a two-layer net: exact layers, iterations per batch"
