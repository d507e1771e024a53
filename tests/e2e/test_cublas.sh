#!/usr/bin/env bash
# cublas: GEMMs through the real libcublas/libcublasLt (they fail without a
# GPU): each call one CUBLAS record with its routine, transposes, m n k,
# batch and the status the program saw; cublasLtMatmul's shape read from
# its descriptors; JSON ops (api cublas / cublaslt, calls, errors) and shapes.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cublas_v2.h ] || skip "no CUDA toolkit (cuBLAS) in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_cublas"

plain=$("$build/gpu/gpu_cublas") || fail "gpu_cublas failed untraced"
traced=$(record "$tmp/t" "$build/gpu/gpu_cublas") || fail "gpu_cublas failed under the shim"
[ "$plain" = "$traced" ] || fail "output changed under the shim: '$plain' vs '$traced'"
echo "$plain" >"$tmp/out"
"$ana" dump "$tmp/t"/*.gstrace >"$tmp/dump" || fail "dump failed"
report_json "$tmp/t" "$tmp/r.json" || fail "analyzer exit $?: $(tail -3 "$tmp/r.json.err")"
pycheck "$tmp/out" "$tmp/dump" "$tmp/r.json" <<'PY' || exit 1
import re
want = [tuple(l.split()) for l in open(sys.argv[1])]
got = []
for line in open(sys.argv[2]):
    m = re.search(r" CUBLAS fn=(\S+) status=(-?\d+) tr=(\S\S) m=(\d+) n=(\d+) k=(\d+) batch=(\d+)", line)
    if m:
        g = m.groups()
        got.append((g[0], g[1], g[3], g[4], g[5], g[6]))
eq("cuBLAS calls (routine, status, m, n, k, batch)", got, want)
trs = [re.search(r"tr=(\S\S)", l).group(1) for l in open(sys.argv[2]) if " CUBLAS " in l]
eq("transposes", trs, ["NT", "TN", "NN", "NN", "TT", "NN", "TN"])
r = load(sys.argv[3])
o = {(x["op"], x["api"]): (x["calls"], x["errors"]) for x in r["ops"] if x["api"].startswith("cublas")}
want_ops = {}
for w in want:
    api = "cublaslt" if w[0] == "cublasLtMatmul" else "cublas"
    c, e = want_ops.get((w[0], api), (0, 0))
    want_ops[(w[0], api)] = (c + 1, e + (w[1] != "0"))
eq("ops", o, want_ops)
s = shapes(r)
eq("Sgemm shape", s.get(("cublasSgemm_v2", "cublas", "N", "T", 64, 32, 16)), 1)
eq("Lt shape", s.get(("cublasLtMatmul", "cublaslt", "T", "N", 96, 80, 48)), 1)
PY
echo "cublas: 7 calls recorded with routine, shape and status"
