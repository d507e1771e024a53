#!/usr/bin/env bash
# NVTX ranges of a library's domain (NCCL) are kept apart from the
# program's names (marks "NCCL: AllReduce", no region), and the payload
# extension's push/pop (nvtxRangePushPayload/PopPayload, through
# InitializeInjectionNvtxExtension) opens and closes regions: a range pushed
# with nvtxDomainRangePushEx and popped with a payload pop is closed.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/nvtx3/nvToolsExtPayload.h ] || skip "no NVTX3 payload headers in /usr/local/cuda"
prog=$build/gpu/gpu_nvtx_domains
need "$lib" "$ana" "$prog"
plain=$("$prog") || fail "program failed untraced"
traced=$(record "$tmp/t" "$prog") || fail "program failed under the shim"
[ "$plain" = "$traced" ] || fail "output changed under the shim"
report_json "$tmp/t" "$tmp/r.json" || fail "analyzer exit $?: $(tail -3 "$tmp/r.json.err")"
"$ana" dump "$tmp/t"/*.gstrace >"$tmp/dump" || fail "dump failed"
pycheck "$tmp/r.json" "$tmp/dump" <<'PY' || exit 1
r = load(sys.argv[1])
got = {g["name"]: g["calls"] for g in r["regions"] if g["calls"]}
eq("regions: no library domain, payload ranges closed", got, {"step": 6, "step/train": 3, "step/fwd": 3})
marks = [l for l in open(sys.argv[2]) if "NVTX_MARK" in l and "text=NCCL: AllReduce" in l]
eq("NCCL ranges as marks", len(marks), 3)
print("NCCL domain kept apart (3 marks); payload push/pop regions balanced")
PY
