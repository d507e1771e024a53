#!/usr/bin/env bash
# apply-caps --dry-run on a machine without cpufreq or nvidia-smi (issue 22
# item 8): it previews what it would do (the writes a machine with cpufreq
# would get, the nvidia-smi commands), says what is missing here, exits 1
# and touches nothing (no state file); the real run still refuses, saving
# nothing.  The sysfs is an empty scratch tree (GREENSHIM_SYSFS_ROOT) and
# nvidia-smi a path that does not exist.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
caps=scripts/apply-caps
mkdir -p "$tmp/sys"
cat >"$tmp/rec.json" <<'JSON'
{"format_version": 1, "recommendations": [
 {"knob": "cpu_freq_khz", "layer": null, "device": null, "recommended": 2200000, "baseline": 3000000},
 {"knob": "cpu_freq_khz", "layer": "fc1", "device": null, "recommended": 1800000, "baseline": 3000000},
 {"knob": "gpu_sm_clock_mhz", "layer": null, "device": 1, "recommended": 1410, "baseline": 1980}]}
JSON
export GREENSHIM_SYSFS_ROOT=$tmp/sys GREENSHIM_NVIDIA_SMI=$tmp/no-nvidia-smi
rc=0; "$caps" --dry-run --state "$tmp/state.json" "$tmp/rec.json" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc = 1 ] || fail "dry run without cpufreq: exit $rc, want 1: $(cat "$tmp/out" "$tmp/err")"
grep -qx "write 2200000 to $tmp/sys/devices/system/cpu/cpufreq/policy\*/scaling_max_freq" "$tmp/out" ||
    fail "dry run: no preview of the CPU cap: $(cat "$tmp/out")"
grep -qx "run: $tmp/no-nvidia-smi -i 1 -lgc 1410,1410" "$tmp/out" || fail "dry run: no preview of the GPU clock lock: $(cat "$tmp/out")"
grep -q "1800000" "$tmp/out" && fail "dry run: a per-layer setting previewed as applied: $(cat "$tmp/out")"
grep -q "^apply-caps: missing here: no cpufreq policies under $tmp/sys/devices/system/cpu/cpufreq" "$tmp/err" ||
    fail "dry run: cpufreq not said to be missing: $(cat "$tmp/err")"
grep -q "^apply-caps: missing here: GPU 1: cannot run $tmp/no-nvidia-smi" "$tmp/err" ||
    fail "dry run: nvidia-smi not said to be missing: $(cat "$tmp/err")"
[ -e "$tmp/state.json" ] && fail "dry run wrote a state file"
[ -z "$(ls -A "$tmp/sys")" ] || fail "dry run wrote under the sysfs root: $(ls -R "$tmp/sys")"
# the real run refuses, as before, and saves nothing
if [ "$(id -u)" = 0 ]; then
    rc=0; "$caps" --state "$tmp/state.json" "$tmp/rec.json" >"$tmp/out2" 2>"$tmp/err2" || rc=$?
    [ $rc = 1 ] || fail "real run without cpufreq: exit $rc, want 1"
    grep -q "no cpufreq policies" "$tmp/err2" || fail "real run: $(cat "$tmp/err2")"
    [ -e "$tmp/state.json" ] && fail "real run without cpufreq saved a state file"
fi
echo "apply-caps --dry-run without cpufreq or nvidia-smi: the plan previewed, what is missing said, exit 1, nothing touched"
