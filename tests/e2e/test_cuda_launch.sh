#!/usr/bin/env bash
# cuda_launch: the CUDA interposers against the real libcudart (no driver
# here: every call fails, and that real error is what must be recorded).
# 1. gpu_launch_cu (nvcc -cudart shared, <<<>>>: CUDA 13 goes through
#    __cudaGetKernel + __cudaLaunchKernel): 4 launches, each with its grid,
#    block, the kernel's name and the error the program saw.
# 2. gpu_launch_c (C): cudaLaunchKernel x3, _ptsz, ExC, Cooperative,
#    memcpy, memset, graph launch, syncs: one API record per call, in order,
#    with the return code the program printed; JSON ops count calls/errors.
# Both programs' output must be unchanged under the shim.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cuda_runtime_api.h ] || skip "no CUDA toolkit in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_launch_c"

for prog in gpu_launch_cu gpu_launch_c; do
    bin=$build/gpu/$prog
    if [ ! -x "$bin" ]; then
        [ $prog = gpu_launch_cu ] && { echo "no nvcc: <<<>>> part not built"; continue; }
        fail "missing $bin"
    fi
    plain=$("$bin") || fail "$prog failed untraced"
    traced=$(record "$tmp/$prog" "$bin") || fail "$prog failed under the shim"
    [ "$plain" = "$traced" ] || fail "$prog: output changed under the shim: '$plain' vs '$traced'"
    echo "$plain" >"$tmp/$prog.out"
    "$ana" dump "$tmp/$prog"/*.gstrace >"$tmp/$prog.dump" || fail "dump of $prog failed"
    report_json "$tmp/$prog" "$tmp/$prog.json" || fail "analyzer exit $? on $prog: $(tail -3 "$tmp/$prog.json.err")"
    pycheck "$prog" "$tmp/$prog.out" "$tmp/$prog.dump" "$tmp/$prog.json" <<'PY' || exit 1
import re
prog, out, dump, rj = sys.argv[1:5]
recs = []
for line in open(dump):
    if " API fn=" not in line:
        continue
    kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
    g = kv.get("grid", "0x0x0").split("x")
    b = kv.get("block", "0x0x0").split("x")
    recs.append((kv["fn"], kv["ret"], g[0], g[1], g[2], b[0], b[1], b[2], kv.get("bytes", "0"), kv.get("kernel", "-")))
r = load(rj)
if prog == "gpu_launch_cu":
    names = {"cudaSuccess": 0, "cudaErrorInsufficientDriver": 35, "cudaErrorNoDevice": 100}
    launches = [x for x in recs if x[0] in ("__cudaLaunchKernel", "__cudaLaunchKernel_ptsz", "cudaLaunchKernel")]
    want = []
    for line in open(out):
        _, g, b, err = line.split()
        want.append((g, b, str(names.get(err, err))))
    got = [(x[2], x[5], x[1]) for x in launches]
    eq("<<<>>> launches (grid, block, error)", got, want)
    for x in launches:
        eq("kernel name", x[9], "_Z5scalePffi")
    eq("__cudaGetKernel recorded", sum(x[0] == "__cudaGetKernel" for x in recs) >= 1, True)
else:
    want = [tuple(l.split()) for l in open(out)]
    eq("API calls (name, ret) in order", [(x[0], x[1]) for x in recs], want)
    eq("grids", [x[2:5] for x in recs[:3]], [("1", "2", "1"), ("2", "2", "1"), ("4", "2", "1")])
    eq("blocks", [x[5] for x in recs[:3]], ["32", "64", "128"])
    eq("ExC grid from its config", recs[4][2:6], ("3", "3", "1", "128"))
    eq("memcpy bytes", recs[6][8], "4096")
cuda = {o["op"]: o for o in r["ops"] if o["api"] == "cuda"}
n = {}
for x in recs:
    n[x[0]] = n.get(x[0], 0) + 1
eq("ops calls", {k: v["calls"] for k, v in cuda.items()}, n)
errs = {}
for x in recs:
    errs[x[0]] = errs.get(x[0], 0) + (x[1] != "0")
eq("ops errors", {k: v["errors"] for k, v in cuda.items()}, errs)
PY
done
echo "cuda_launch: every launch and call recorded with its real return code; output unchanged"
