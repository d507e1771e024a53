#!/usr/bin/env bash
# test_dvfs_gpu.sh - the DVFS analysis of GPU runs: the supported SM clocks
# and power-limit range come from the NVML source's records in the trace
# (GPU_CLOCKS, GPU_INFO; here served by the fake NVML of an H200: 345..1980
# MHz in 15 MHz steps, 200..700 W), not from the sweep's tags; the energy is
# the whole machine's (CPU side + the GPU's NVML energy).  One real run of
# gpu_attrib is tagged at three settings (the same measurement three times:
# this checks the plumbing, not the fit).
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cupti.h ] || skip "no CUDA toolkit (CUPTI headers) in /usr/local/cuda"
[ -e /usr/local/cuda/lib64/libcupti.so ] || [ -e /usr/local/cuda/extras/CUPTI/lib64/libcupti.so ] ||
    skip "no libcupti in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_attrib" "$build/fakes/nvml/libnvidia-ml.so.1"

FAKE_NVML_SCRIPT=$tmp/script LD_LIBRARY_PATH=$build/fakes/nvml \
    record "$tmp/tr" "$build/gpu/gpu_attrib" "$tmp/script" "$tmp/expected" || fail "gpu_attrib exit $?"
report_json "$tmp/tr" "$tmp/r.json" || fail "report: $(cat "$tmp/r.json.err")"
for knob in gpu_sm_clock_mhz:1005,1500,1980 gpu_power_limit_w:300,500,700; do
    k=${knob%%:*}
    for s in $(echo "${knob#*:}" | tr , ' '); do
        cp -r "$tmp/tr" "$tmp/$k/r$s" 2>/dev/null || { mkdir -p "$tmp/$k"; cp -r "$tmp/tr" "$tmp/$k/r$s"; }
        printf 'knob=%s\nsetting=%s\ndevice=0\nrepeat=1\nstatus=0\n' "$k" "$s" >"$tmp/$k/r$s/dvfs-setting"
    done
    "$ana" dvfs "$tmp/$k" --format json -o "$tmp/$k.json" 2>"$tmp/err" || fail "dvfs $k: $(cat "$tmp/err")"
done
pycheck "$tmp/gpu_sm_clock_mhz.json" "$tmp/gpu_power_limit_w.json" "$tmp/r.json" <<'PY'
clk, pl, rep = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
machine = rep["energy"]["total_j"] + sum(g["energy_j"] for g in rep["gpus"])
if not rep["gpus"] or rep["gpus"][0]["energy_j"] <= 0: print("no GPU energy in the report"); sys.exit(1)
w = [x for x in clk["recommendations"] if x["layer"] is None][0]
eq("SM clock baseline: the trace's maximum", w["baseline"], 1980)
if w["recommended"] not in range(345, 1981, 15): print("not a supported clock:", w["recommended"]); sys.exit(1)
base_e = w["predicted_energy_j"] / (1 - w["energy_saving_pct"] / 100)
if abs(base_e - machine) > 1e-6 * machine: print("whole-machine energy %g, want %g" % (base_e, machine)); sys.exit(1)
p = [x for x in pl["recommendations"] if x["layer"] is None][0]
eq("power-limit baseline: the trace's maximum", p["baseline"], 700)
eq("device", p["device"], 0)
print("GPU: clock baseline %g MHz, power baseline %g W, machine energy %.4g J (GPU %.4g J)"
      % (w["baseline"], p["baseline"], machine, rep["gpus"][0]["energy_j"]))
PY
[ $? -eq 0 ] || fail "GPU supported values and energy"
echo ok
