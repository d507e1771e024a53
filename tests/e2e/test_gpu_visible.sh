#!/usr/bin/env bash
# gpu_visible: kernels are charged to the GPU they ran on when CUDA numbers
# the devices differently from NVML (CUDA_VISIBLE_DEVICES=1 on a two-GPU
# machine: CUDA ordinal 0 is NVML index 1).  The fake NVML serves two GPUs:
# index 0 (bus 01) idles at a flat 90 W, index 1 (bus 02) follows
# gpu_attrib's power script (tests/e2e/test_nvml_attrib.sh); the fake CUDA
# driver (tests/fakes/fake_cuda.c, loaded by gpu_attrib before its first
# CUDA call) shows one device, bus 02.  The recorder must map ordinal 0 to
# index 1 (GPU_DEV record), and the analyzer must give the kernels device
# 1's energy, within its stated uncertainty of the script, device 0 none.
# Without the driver (no mapping) the analyzer must say it assumed
# ordinal = index.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cupti.h ] || skip "no CUDA toolkit (CUPTI headers) in /usr/local/cuda"
[ -e /usr/local/cuda/lib64/libcupti.so ] || [ -e /usr/local/cuda/extras/CUPTI/lib64/libcupti.so ] ||
    skip "no libcupti in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_attrib" "$build/fakes/nvml/libnvidia-ml.so.1" "$build/fakes/cuda/libcuda.so.1"

printf 'idle 90\nquantum_ms 10\ncounter 1\n' >"$tmp/flat"
for mode in mapped unmapped; do
    out=$tmp/$mode
    mkdir -p "$out"
    cu=$build/fakes/cuda/libcuda.so.1
    [ $mode = unmapped ] && cu=
    FAKE_NVML_DEVICES=2 FAKE_NVML_SCRIPT_0=$tmp/flat FAKE_NVML_SCRIPT_1=$out/script \
        FAKE_CUDA_PCI=0000:02:00.0 GPU_ATTRIB_LIBCUDA=$cu LD_LIBRARY_PATH=$build/fakes/nvml \
        record "$out/tr" "$build/gpu/gpu_attrib" "$out/script" "$out/expected" ||
        fail "gpu_attrib ($mode) exit $?"
    report_json "$out/tr" "$out/r.json" || fail "analyzer exit $? ($mode): $(tail -3 "$out/r.json.err")"
    "$ana" report "$out/tr" >"$out/r.txt" 2>&1 || fail "text report ($mode) exit $?"
    "$ana" dump "$out"/tr/*.gstrace >"$out/dump.txt" || fail "dump ($mode) failed"
done

pycheck "$tmp/mapped/r.json" "$tmp/mapped/expected" "$tmp/mapped/dump.txt" "$tmp/mapped/r.txt" <<'PY' || exit 1
r = load(sys.argv[1])
want = {}
for line in open(sys.argv[2]):
    name, calls, j = line.split()
    want[name] = (int(calls), float(j))
dump = open(sys.argv[3]).read()
for line in ("GPU_DEV cuda_ordinal=0 nvml_index=1 pci=0000:02:00 busid=0000:02:00.0",):
    if line not in dump:
        print("FAIL: dump lacks %r" % line); sys.exit(1)
if dump.count("GPU_DEV ") != 1:
    print("FAIL: %d GPU_DEV records, want 1 (one CUDA device)" % dump.count("GPU_DEV ")); sys.exit(1)
for dev, bus in ((0, "01"), (1, "02")):
    if not any(("GPU_INFO device=%d " % dev) in l and l.endswith(" pci=0000:%s:00" % bus)
               for l in dump.splitlines()):
        print("FAIL: no GPU_INFO for device %d at pci 0000:%s:00" % (dev, bus)); sys.exit(1)
eq("gpus", sorted(g["index"] for g in r["gpus"]), [0, 1])
gs = {g["index"]: g for g in r["gpus"]}
eq("gpu 1 uuid", gs[1]["uuid"], "GPU-fa4e0000-0000-4000-8000-000000000001")
eq("gpu 0 uuid", gs[0]["uuid"], "GPU-fa4e0000-0000-4000-8000-000000000000")
eq("gpu 0 kernels energy", gs[0]["kernels_energy_j"], 0)
if not gs[1]["kernels_energy_j"] > 0:
    print("FAIL: gpu 1 (NVML index of CUDA ordinal 0) got no kernel energy"); sys.exit(1)
ks = {k["name"]: k for k in r["kernels"]}
for name, (calls, j) in want.items():
    if name.startswith("("):
        continue
    k = ks[name]
    eq(name + " calls", k["calls"], calls)
    got, err = k["energy_j"], k["energy_err_j"]
    print("%-11s script %7.3f J  measured %7.3f +- %6.3f J  (off by %.3f J)" % (name, j, got, err, got - j))
    if not abs(got - j) <= err:
        print("FAIL: %s: %.3f J is not within +-%.3f J of device 1's script %.3f J" % (name, got, err, j)); sys.exit(1)
    if err > 0.25 * j:
        print("FAIL: %s: uncertainty %.3f J is over 25%% of %.3f J" % (name, err, j)); sys.exit(1)
g = gs[1]
tot = g["kernels_energy_j"] + g["idle_energy_j"]
if abs(tot - g["energy_j"]) > 1e-6 * g["energy_j"]:
    print("FAIL: kernels %.6f + idle %.6f != NVML total %.6f" % (g["kernels_energy_j"], g["idle_energy_j"], g["energy_j"])); sys.exit(1)
# device 0 is flat at 90 W: all of it idle
if abs(gs[0]["idle_power_w"] - 90) > 2:
    print("FAIL: gpu 0 idle power %.2f W, the script says 90 W" % gs[0]["idle_power_w"]); sys.exit(1)
if any("not matched to NVML" in w for w in r["warnings"]):
    print("FAIL: mapped run warns about the mapping: %r" % r["warnings"]); sys.exit(1)
txt = open(sys.argv[4]).read()
if "gpu 1 NVIDIA H200" not in txt:
    print("FAIL: text report has no gpu 1 row"); sys.exit(1)
PY

pycheck "$tmp/unmapped/r.json" "$tmp/unmapped/dump.txt" "$tmp/unmapped/r.txt" <<'PY' || exit 1
r = load(sys.argv[1])
if "GPU_DEV " in open(sys.argv[2]).read():
    print("FAIL: GPU_DEV recorded without a CUDA driver in the process"); sys.exit(1)
w = [x for x in r["warnings"] if "not matched to NVML indices" in x]
eq("mapping warnings", len(w), 1)
txt = open(sys.argv[3]).read()
if txt.count("not matched to NVML indices") != 1:
    print("FAIL: the text report does not say the ordinals were assumed to be NVML indices"); sys.exit(1)
print("unmapped: warned: " + w[0])
PY
echo "gpu_visible: CUDA ordinal 0 -> NVML index 1 by PCI bus id; kernels get that GPU's energy; unmapped runs warn"
