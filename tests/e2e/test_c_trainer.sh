#!/usr/bin/env bash
# C programs under the recorder, counted exactly:
#  - examples/blas_mix: cblas_ and Fortran calls from 4 threads plus one call
#    of ten other routines: calls per (op, api) and per shape, FLOPs, threads;
#    then other counts on the command line.
#  - examples/mlp_train --steps N: 8 cblas_sgemm per step with the shapes
#    documented at the top of examples/mlp_train.c; --regions gives regions
#    fc1 (2 calls per step), fc2 and fc3 (3 each) which are also the layers;
#    without regions the analyzer detects the three fully connected layers
#    "linear 784→128", "linear 128→64", "linear 64→10" and N iterations.
# Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix" "$build/examples/mlp_train"

# ---- blas_mix, defaults: 4 threads x (10 cblas_dgemm, 5 dgemm_, 20 cblas_sgemv) + singles
record "$tmp/mix" "$build/examples/blas_mix" >"$tmp/mix.out" || fail "blas_mix failed under the shim"
n=$(ls "$tmp/mix"/*.gstrace 2>/dev/null | wc -l)
[ "$n" = 1 ] || fail "blas_mix: want 1 trace file, found $n in $tmp/mix"
report_json "$tmp/mix" "$tmp/mix.json" || fail "analyzer exit $? on blas_mix: $(tail -3 "$tmp/mix.json.err")"
pycheck "$tmp/mix.json" <<'PY' || exit 1
r = load(sys.argv[1])
eq("processes", r["processes"], 1)
want_ops = {("dgemm", "cblas"): 40, ("dgemm", "fortran"): 20, ("sgemv", "cblas"): 80,
            ("ssyrk", "fortran"): 1, ("dtrsm", "fortran"): 1, ("zgemm", "cblas"): 1,
            ("chemm", "cblas"): 1, ("dsymm", "cblas"): 1, ("zherk", "fortran"): 1,
            ("ssyr2k", "cblas"): 1, ("ctrmm", "cblas"): 1, ("dgemv", "fortran"): 1,
            ("sgemm", "fortran"): 1}
eq("calls per (op, api)", ops(r), want_ops)
sh = shapes(r)
for key, calls in {("dgemm", "cblas", "N", "N", 32, 24, 16): 40,
                   ("dgemm", "fortran", "T", "N", 20, 18, 12): 20,
                   ("zgemm", "cblas", "N", "N", 6, 5, 4): 1,
                   ("sgemm", "fortran", "N", "T", 3, 4, 5): 1}.items():
    eq("calls of shape %r" % (key,), sh.get(key), calls)
# routines other than gemm: the dimensions the caller passed (see trace.h)
dims = {"sgemv": ("cblas", "N", {"m": 50, "n": 40}, 80),
        "dgemv": ("fortran", "T", {"m": 11, "n": 13}, 1),
        "ssyrk": ("fortran", "N", {"n": 12, "k": 7}, 1),
        "zherk": ("fortran", "C", {"n": 6, "k": 9}, 1),
        "ssyr2k": ("cblas", "N", {"n": 10, "k": 3}, 1),
        "dtrsm": ("fortran", "N", {"m": 9, "n": 5}, 1),
        "ctrmm": ("cblas", "N", {"m": 4, "n": 6}, 1),
        "chemm": ("cblas", None, {"m": 7, "n": 3}, 1),
        "dsymm": ("cblas", None, {"m": 5, "n": 8}, 1)}
for op, (api, ta, d, calls) in dims.items():
    rows = [s for s in r["shapes"] if s["op"] == op]
    eq("%s shape rows" % op, len(rows), 1)
    s = rows[0]
    eq("%s api" % op, s["api"], api)
    eq("%s calls" % op, s["calls"], calls)
    eq("%s dims" % op, {x: s.get(x) for x in d}, d)
    if ta is not None:
        eq("%s trans" % op, tr(s.get("transa")), ta)
fl = {(o["op"], o["api"]): o["flops"] for o in r["ops"]}
eq("cblas_dgemm flops", fl[("dgemm", "cblas")], 40 * 2 * 32 * 24 * 16)
eq("dgemm_ flops", fl[("dgemm", "fortran")], 20 * 2 * 20 * 18 * 12)
eq("cblas_sgemv flops", fl[("sgemv", "cblas")], 80 * 2 * 50 * 40)
eq("shape flops", sum(s["flops"] for s in r["shapes"] if s["op"] == "dgemm" and s["api"] == "cblas"),
   40 * 2 * 32 * 24 * 16)
# 4 workers + the main thread (singles) called BLAS
p = r["process_list"][0]
tk = [k for k in ("threads", "nthreads", "thread_count", "n_threads") if k in p]
if not tk:
    print("process_list[0] has no thread count: keys %s" % sorted(p)); sys.exit(1)
eq("threads that called BLAS", p[tk[0]], 5)
PY

# ---- blas_mix, counts from the command line
record "$tmp/mix2" "$build/examples/blas_mix" --threads 2 --dgemm 3 --fgemm 0 --sgemv 7 --no-singles \
    >/dev/null || fail "blas_mix (2 threads) failed under the shim"
report_json "$tmp/mix2" "$tmp/mix2.json" || fail "analyzer exit $? on blas_mix --threads 2"
pycheck "$tmp/mix2.json" <<'PY' || exit 1
r = load(sys.argv[1])
eq("calls per (op, api), 2 threads", ops(r), {("dgemm", "cblas"): 6, ("sgemv", "cblas"): 14})
PY
echo "blas_mix: 150 calls of 13 (op, api) pairs from 5 threads counted exactly"

# ---- mlp_train: 8 cblas_sgemm per step
N=20
record "$tmp/mlp" "$build/examples/mlp_train" --steps $N --batch 32 --quiet \
    || fail "mlp_train failed under the shim"
report_json "$tmp/mlp" "$tmp/mlp.json" || fail "analyzer exit $? on mlp_train"
pycheck "$tmp/mlp.json" $N <<'PY' || exit 1
r = load(sys.argv[1]); N = int(sys.argv[2]); B = 32
eq("mlp_train calls", ops(r), {("sgemm", "cblas"): 8 * N})
want = {("sgemm", "cblas", "N", "N", B, 128, 784): N, ("sgemm", "cblas", "N", "N", B, 64, 128): N,
        ("sgemm", "cblas", "N", "N", B, 10, 64): N, ("sgemm", "cblas", "T", "N", 64, 10, B): N,
        ("sgemm", "cblas", "N", "T", B, 64, 10): N, ("sgemm", "cblas", "T", "N", 128, 64, B): N,
        ("sgemm", "cblas", "N", "T", B, 128, 64): N, ("sgemm", "cblas", "T", "N", 784, 128, B): N}
eq("mlp_train shapes", shapes(r), want)
PY

# ---- mlp_train --regions: fc1 holds 2 calls a step, fc2 and fc3 3 each
record "$tmp/mlpr" "$build/examples/mlp_train" --steps $N --batch 32 --quiet --regions \
    || fail "mlp_train --regions failed under the shim"
report_json "$tmp/mlpr" "$tmp/mlpr.json" || fail "analyzer exit $? on mlp_train --regions"
pycheck "$tmp/mlpr.json" $N <<'PY' || exit 1
r = load(sys.argv[1]); N = int(sys.argv[2])
want = {"fc1": 2 * N, "fc2": 3 * N, "fc3": 3 * N}
got = {x["name"]: x["calls"] for x in r["regions"]}
eq("region calls", got, want)
eq("calls inside regions", sum(got.values()), 8 * N)
lay = {x["name"]: x["calls"] for x in r["layers"]}
# the region names the layer; detection keeps its finding inside it
eq("layers with regions", lay, {"fc1 linear 784\u2192128": 2 * N, "fc2 linear 128\u219264": 3 * N,
                                "fc3 linear 64\u219210": 3 * N})
eq("iterations with regions", r["iterations"], N)
PY

# ---- mlp_train without markup: three detected linear layers, N iterations
N=50
record "$tmp/mlpd" "$build/examples/mlp_train" --steps $N --batch 32 --quiet \
    || fail "mlp_train failed under the shim"
report_json "$tmp/mlpd" "$tmp/mlpd.json" || fail "analyzer exit $? on mlp_train (detection)"
pycheck "$tmp/mlpd.json" $N <<'PY' || exit 1
r = load(sys.argv[1]); N = int(sys.argv[2])
lay = {x["name"]: x["calls"] for x in r["layers"]}
names = ["linear 784\u2192128", "linear 128\u219264", "linear 64\u219210"]
eq("detected layers", sorted(lay), sorted(names))
# each layer: its forward GEMM, its weight gradient and (fc2, fc3) its input gradient
eq("detected layer calls", lay, {names[0]: 2 * N, names[1]: 3 * N, names[2]: 3 * N})
eq("iterations", r["iterations"], N)
PY
echo "mlp_train: 8 sgemm a step, regions fc1..fc3 and detected layers exact"
