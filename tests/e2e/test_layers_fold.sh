#!/usr/bin/env bash
# Numerical code that is no network (examples/sklearn_pipeline.py: Ridge,
# PCA, KMeans): the shapes of a QR/SVD loop fold into one row per routine
# ("dgemv (N shapes)"), so the layer table stays short, and since nothing
# trains no row is named "linear" (KMeans' chunked distance GEMM shows two
# batches, which alone names a layer only where a training iteration is).
# Exit 0 pass, 1 fail, 77 skip (python3-sklearn missing).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c 'import sklearn.cluster, sklearn.decomposition' 2>/dev/null || skip "python3-sklearn is not installed"
record "$tmp/p" "$py" examples/sklearn_pipeline.py >/dev/null || fail "sklearn_pipeline.py failed under the shim"
report_json "$tmp/p" "$tmp/p.json" || fail "analyzer exit $?: $(tail -3 "$tmp/p.json.err")"
pycheck "$tmp/p.json" <<'PY' || exit 1
import re
r = load(sys.argv[1])
names = [l["name"] for l in r["layers"]]
lin = [n for n in names if n.startswith("linear")]
eq("no linear layer where nothing trains", lin, [])
eq("iterations", r["iterations"], None)
folded = [n for n in names if re.match(r"dgemv \(\d+ shapes\)$", n)]
eq("one folded dgemv row", len(folded), 1)
n = int(re.findall(r"\d+", folded[0])[0])
if n <= 8:
    print("folded row %r: want more than 8 shapes" % folded[0]); sys.exit(1)
if len(names) > 20:
    print("%d layer rows (want at most 20): %r" % (len(names), names[:25])); sys.exit(1)
eq("rows hold every call", sum(l["calls"] for l in r["layers"]), sum(o["calls"] for o in r["ops"]))
print("pipeline: %d layer rows (%s), no linear" % (len(names), folded[0]))
PY
echo "sklearn pipeline: loop shapes folded by routine, no linear layer without training"
