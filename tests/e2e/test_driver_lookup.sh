#!/usr/bin/env bash
# Driver launches reached the ways no symbol interposition sees (Triton,
# torch.compile, NCCL, a static cudart): dlsym on the program's own handle of
# libcuda, and cuGetProcAddress (default and per-thread-stream entry points),
# through the fake driver of tests/fakes (the hardware is what is absent).
# Every launch is recorded once, as the function the driver handed out, with
# its grid and kernel name; the driver sees each call once; other lookups
# (other symbols, not-found errors, RTLD_NEXT, RTLD_DEFAULT) are unchanged.
source "$(dirname "$0")/lib/common.sh"
prog=$build/gpu/gpu_driver_lookup
cu=$build/fakes/cuda/libcuda.so.1
need "$lib" "$ana" "$prog" "$cu"
plain=$("$prog" "$cu") || fail "program failed untraced"
traced=$(record "$tmp/run" "$prog" "$cu") || fail "program failed under the shim"
[ "$plain" = "$traced" ] || fail "output changed under the shim: '$plain' vs '$traced'"
echo "$traced" | grep -q "driver saw: cuLaunchKernel 7, _ptsz 5, Ex 2, Ex_ptsz 1" || fail "driver counts: $traced"
echo "$traced" | grep -q "errors 0; other symbols: own 1, not found 500/1/null, RTLD_NEXT 1, RTLD_DEFAULT 1" \
    || fail "other lookups changed: $traced"
"$ana" dump "$tmp/run"/*.gstrace >"$tmp/dump" || fail "dump failed"
report_json "$tmp/run" "$tmp/r.json" || fail "analyzer failed: $(tail -3 "$tmp/r.json.err")"
pycheck "$tmp/dump" "$tmp/r.json" <<'PY' || exit 1
recs = []
for line in open(sys.argv[1]):
    if " API fn=" not in line:
        continue
    kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
    recs.append((kv["fn"], kv.get("kernel"), kv.get("grid"), kv["ret"]))
want = ([("cuLaunchKernel", "kern_dlsym", "2x1x1", "0")] * 3 + [("cuLaunchKernelEx", "kern_dlsym_ex", "4x2x1", "0")] * 2 +
        [("cuLaunchKernel", "kern_gpa", "8x1x1", "0")] * 4 + [("cuLaunchKernel_ptsz", "kern_gpa_ptsz", "16x1x1", "0")] * 5 +
        [("cuLaunchKernelEx_ptsz", "kern_gpa_ex_ptsz", "4x2x1", "0")])
eq("launch records (fn, kernel, grid, ret) in order", recs, want)
r = load(sys.argv[2])
cu = {o["op"]: o["calls"] for o in r["ops"] if o["api"] in ("cu", "cuda")}
eq("report ops", cu, {"cuLaunchKernel": 7, "cuLaunchKernel_ptsz": 5, "cuLaunchKernelEx": 2, "cuLaunchKernelEx_ptsz": 1})
print("15 driver launches through dlsym(handle) and cuGetProcAddress: each recorded once, names and grids")
PY
# GREENSHIM=0: the lookups are the driver's own (nothing swapped, nothing recorded)
off=$(GREENSHIM=0 LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/off" "$prog" "$cu") || fail "program failed with GREENSHIM=0"
[ "$off" = "$plain" ] || fail "GREENSHIM=0 changed the output"
[ ! -e "$tmp/off" ] || fail "GREENSHIM=0 wrote a trace"
