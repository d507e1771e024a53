#!/usr/bin/env bash
# Kernels whose launch no wrapper saw (static cudart, cuDNN, NCCL, Triton's
# driver pointers) are joined to the thread and region that launched them:
# CUPTI's API callback, played with real CUpti_CallbackData and parameter
# structs (tests/e2e/src/gpu_orphan.c), becomes one launch record per
# outermost launch (a runtime launch with the driver call inside it is one),
# with its grid and correlation id; the kernels then land in the regions'
# layer rows instead of nowhere.
source "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cupti.h ] || skip "no CUPTI headers in /usr/local/cuda"
prog=$build/gpu/gpu_orphan
need "$lib" "$ana" "$prog"
record "$tmp/run" "$prog" || fail "gpu_orphan failed under the shim (exit $?)"
"$ana" dump "$tmp/run"/*.gstrace >"$tmp/dump" || fail "dump failed"
report_json "$tmp/run" "$tmp/r.json" || fail "analyzer failed: $(tail -3 "$tmp/r.json.err")"
pycheck "$tmp/dump" "$tmp/r.json" <<'PY' || exit 1
recs = []
for line in open(sys.argv[1]):
    if " API fn=" in line:
        kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
        recs.append((kv["fn"], kv["corr"], kv["grid"], kv["block"], kv["region"] != "0"))
eq("launch records (fn, corr, grid, block, in a region)", recs,
   [("cuLaunchKernel", str(501 + i), "8x1x1", "128x1x1", True) for i in range(3)] +
   [("cudaLaunchKernel", str(601 + 2 * i), "16x2x1", "256x1x1", True) for i in range(2)] +
   [("cuLaunchKernelEx", "801", "4x1x1", "64x1x1", False)])
r = load(sys.argv[2])
k = {x["name"]: (x["calls"], x["joined_launches"]) for x in r["kernels"]}
eq("kernels joined to their launches", k, {"k_enc": (3, 3), "k_dec": (2, 2), "k_free": (1, 1)})
lay = {l["name"]: round(l.get("gpu_time_s") or 0, 6) for l in r["layers"]}
eq("kernel time in the launching region's layer row", (lay.get("encoder"), lay.get("decoder")), (0.0015, 0.001))
print("6 launches seen only by CUPTI: joined; k_enc in encoder, k_dec in decoder")
PY
