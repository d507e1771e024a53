#!/usr/bin/env bash
# nvml_power: the power fallback (no energy counter).  gpu_attrib (see
# test_nvml_attrib.sh) lives through its 1.25 s power script against the fake
# NVML with the counter off, in two modes:
#   instant  the driver answers NVML_FI_DEV_POWER_INSTANT (updated every
#            20 ms) and nvmlDeviceGetPowerUsage is a 1 s average: the samples
#            must come from the instant field (GPU_INFO power_src=instant; every
#            reading one of the script's own power levels, never a blend),
#            its update period is measured from the readings, the 3 ms kernels
#            (shorter than it) get an uncertainty of at least their whole
#            energy and the report says why, the longer ones keep tight bounds;
#   average  no instant field: the 1 s average is integrated (stated in the
#            trace and the report), every kernel (all shorter than 1 s) gets
#            an uncertainty of at least its whole energy, and each kernel's
#            script energy lies within it (the average smears 300 ms of GEMM
#            over the next second: bounds from the fit alone miss it).
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cupti.h ] || skip "no CUDA toolkit (CUPTI headers) in /usr/local/cuda"
[ -e /usr/local/cuda/lib64/libcupti.so ] || [ -e /usr/local/cuda/extras/CUPTI/lib64/libcupti.so ] ||
    skip "no libcupti in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_attrib" "$build/fakes/nvml/libnvidia-ml.so.1"

for mode in instant average; do
    out=$tmp/$mode
    mkdir -p "$out"
    if [ $mode = instant ]; then
        extra="instant 1,instant_ms 20,average_ms 1000" tail=0
    else
        extra="instant 0,average_ms 1000" tail=1000
    fi
    GREENSHIM_QUIET=0 GPU_ATTRIB_POWER_ONLY=1 GPU_ATTRIB_SCRIPT_EXTRA=$extra GPU_ATTRIB_TAIL_MS=$tail \
        FAKE_NVML_SCRIPT=$out/script LD_LIBRARY_PATH=$build/fakes/nvml \
        record "$out/tr" "$build/gpu/gpu_attrib" "$out/script" "$out/expected" 2>"$out/stderr" ||
        fail "gpu_attrib ($mode) exit $?: $(tail -3 "$out/stderr")"
    report_json "$out/tr" "$out/r.json" || fail "analyzer exit $? ($mode): $(tail -3 "$out/r.json.err")"
    "$ana" report "$out/tr" >"$out/r.txt" 2>"$out/r.txt.err" || fail "text report ($mode): exit $?"
    "$ana" dump "$out"/tr/*.gstrace >"$out/dump.txt" || fail "dump ($mode) failed"
    pycheck "$out/r.json" "$out/expected" "$mode" "$out/dump.txt" "$out/r.txt" "$out/stderr" <<'PY' || exit 1
r = load(sys.argv[1])
mode = sys.argv[3]
# dump lines: offset, tid=, then the record
dump = [" ".join(l.split()[2:]) for l in open(sys.argv[4]).read().splitlines() if len(l.split()) > 2]
text = open(sys.argv[5]).read()
stderr = open(sys.argv[6]).read()
want = {}
for line in open(sys.argv[2]):
    name, calls, j = line.split()
    want[name] = (int(calls), float(j))
eq("gpus", len(r["gpus"]), 1)
g = r["gpus"][0]
eq("energy source", g["energy_source"], "nvml-power")
eq("power reading", g["power_reading"], mode)
info = [l for l in dump if l.startswith("GPU_INFO ")]
eq("GPU_INFO records", len(info), 1)
if ("power_src=%s" % mode) not in info[0].split():
    print("FAIL: GPU_INFO does not say power_src=%s: %s" % (mode, info[0])); sys.exit(1)
mw = [int(f.split("=")[1]) for l in dump if l.startswith("NVML ") for f in l.split() if f.startswith("power_mw=")]
if len(mw) < 50:
    print("FAIL: %d NVML power readings" % len(mw)); sys.exit(1)
levels = {60000, 300000, 250000, 280000, 500000}   # idle, gemm, relu, one attn, both attn
blends = sorted(set(m for m in mw if m not in levels))
res = g["resolution_s"]
if mode == "instant":
    # the instant field holds the script's power: a 1 s average would blend
    if blends:
        print("FAIL: readings not from the instant field (blended values %s)" % blends[:5]); sys.exit(1)
    if not {300000, 250000} <= set(mw):
        print("FAIL: the instant readings never saw the GEMM or the small kernels: %s" % sorted(set(mw))); sys.exit(1)
    # its update period, from the readings that changed: 20 ms in the fake
    # (the sampling every 5 ms, late under load, only makes it longer)
    if not 0.015 <= res <= 0.3:
        print("FAIL: instant field's measured update period %.4f s, want about 0.02 s" % res); sys.exit(1)
    short = {"relu_small"}
    if "1 s average" in stderr:
        print("FAIL: the recorder says it integrates the 1 s average with the instant field there"); sys.exit(1)
else:
    if not blends:
        print("FAIL: the 1 s average never blended the script's levels (readings not from nvmlDeviceGetPowerUsage?)"); sys.exit(1)
    eq("power window", res, 1.0)
    if "1 s average" not in stderr:     # GREENSHIM_QUIET=0 for this run: the line is the point
        print("FAIL: the recorder did not say it integrates the 1 s average: %r" % stderr); sys.exit(1)
    short = {"gemm_big", "relu_small", "attn_a", "attn_b"}
eq("kernels widened", g["kernels_widened"], len(short))
ks = {k["name"]: k for k in r["kernels"]}
for name, (calls, j) in want.items():
    if name.startswith("("):
        continue
    k = ks[name]
    eq(name + " calls", k["calls"], calls)
    err, got = k["energy_err_j"], k["energy_j"]
    print("%-8s %-11s script %7.3f J  measured %7.3f +- %7.3f J  (off by %.3f J)%s" % (
        mode, name, j, got, err, got - j, "  widened" if name in short else ""))
    if not abs(got - j) <= err:
        print("FAIL: %s: %.3f J is not within +-%.3f J of the script's %.3f J" % (name, got, err, j)); sys.exit(1)
    if name in short and not err >= got:
        print("FAIL: %s is shorter than %.3f s: uncertainty %.3f J is tighter than its whole energy %.3f J" % (
            name, res, err, got)); sys.exit(1)
    if name not in short and not err < 0.5 * j:
        print("FAIL: %s (longer than %.3f s): uncertainty %.3f J of %.3f J, not a useful bound" % (name, res, err, j)); sys.exit(1)
why = "instant power field's update period" if mode == "instant" else "1 s average"
note = [w for w in r["warnings"] if "uncertainty widened" in w]
if len(note) != 1 or why not in note[0] or ("%d kernel" % len(short)) not in note[0]:
    print("FAIL: the JSON report does not say why the uncertainty was widened: %s" % r["warnings"]); sys.exit(1)
if "uncertainty widened" not in text or ("nvml-power, %s" % mode) not in text:
    print("FAIL: the text report does not say which power reading or why the uncertainty was widened"); sys.exit(1)
print("%-8s %d readings, resolution %.3f s, %d kernels widened" % (mode, len(mw), res, g["kernels_widened"]))
PY
done
echo "nvml_power: instant power field used where offered (resolution measured), the 1 s average otherwise; kernels shorter than either get their whole bound as uncertainty"
