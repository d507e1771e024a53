#!/usr/bin/env bash
# cuda_fork: CUDA calls on both sides of a fork(), with NVML sampling (the
# fake) started by the parent's first CUDA call.  The child has a trace of
# its own with its 3 calls and no NVML series (it never samples: the
# parent's series covers the machine-wide counter); the parent's trace has
# its 3 calls and its NVML readings; nothing hangs or crashes at either exit;
# output unchanged.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cuda_runtime_api.h ] || skip "no CUDA toolkit in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_fork" "$build/fakes/nvml/libnvidia-ml.so.1"

plain=$("$build/gpu/gpu_fork" | sort) || fail "gpu_fork failed untraced"
traced=$(LD_LIBRARY_PATH=$build/fakes/nvml record "$tmp/t" "$build/gpu/gpu_fork" | sort) ||
    fail "gpu_fork failed under the shim"
[ "$plain" = "$traced" ] || fail "output changed under the shim: '$plain' vs '$traced'"
files=("$tmp/t"/*.gstrace)
[ "${#files[@]}" = 2 ] || fail "want 2 trace files, found: $(ls "$tmp/t")"
for f in "${files[@]}"; do
    "$ana" dump "$f" >"$f.dump" || fail "dump of $f failed"
done
pycheck "${files[0]}.dump" "${files[1]}.dump" <<'PY' || exit 1
got = []
for p in sys.argv[1:]:
    d = open(p).read()
    got.append((d.count(" API fn=cudaDeviceSynchronize"), d.count(" NVML device=") > 0, " END " in d))
got.sort()
# child: 3 calls, no NVML; parent: 3 calls, NVML readings; both ended cleanly
eq("per process (calls, NVML readings, END)", got, [(3, False, True), (3, True, True)])
PY
echo "cuda_fork: parent and child traced apart; only the parent samples NVML"
