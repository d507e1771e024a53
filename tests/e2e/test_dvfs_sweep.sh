#!/usr/bin/env bash
# test_dvfs_sweep.sh - `greenshim sweep --cpu-freqs` runs the demo trainer
# under the recorder at three settings over a synthetic cpufreq tree
# (GREENSHIM_SYSFS_ROOT): each setting is applied before its run and put back
# after it, each run directory is tagged with its setting, the tree ends
# exactly as it began, and `greenshim-analyze dvfs SWEEPDIR` fits the model
# from the three runs.  On this VM the frequency does not really change (no
# cpufreq): the test checks the mechanics, and the fit uses what was measured.
# Also: a command that fails at one setting (restored, sweep goes on, exit 1),
# an interrupted sweep (restored, exit 130), bad arguments (exit 2).
. "$(dirname "$0")/lib/common.sh"
front=$root/scripts/greenshim
need "$front" "$root/scripts/greenshim-sweep" "$lib" "$ana" "$build/examples/mlp_train"
[ "$(id -u)" -eq 0 ] || skip "needs root (apply-caps refuses otherwise)"

sys=$tmp/sys
mk_tree() {
    rm -rf "$sys"
    for p in 0 1; do
        d=$sys/devices/system/cpu/cpufreq/policy$p
        mkdir -p "$d"
        echo 1000000 >"$d/cpuinfo_min_freq"
        echo 3000000 >"$d/cpuinfo_max_freq"
        echo 1000000 >"$d/scaling_min_freq"
        echo 3000000 >"$d/scaling_max_freq"
        echo "1000000 1500000 2000000 2500000 3000000" >"$d/scaling_available_frequencies"
    done
}
snapshot() { (cd "$sys" && grep -r . | sort); }
export GREENSHIM_SYSFS_ROOT=$sys
unset GREENSHIM_CAPS_STATE

# a command that records the cap it ran under, then trains
cat >"$tmp/train.sh" <<SH
#!/bin/sh
cat "$sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq" "$sys/devices/system/cpu/cpufreq/policy1/scaling_max_freq" >>"$tmp/seen"
exec "$build/examples/mlp_train" --steps 60 --quiet
SH
chmod +x "$tmp/train.sh"

mk_tree
orig=$(snapshot)
"$front" sweep --cpu-freqs 1500000,2000000,3000000 -o "$tmp/sweep" -- "$tmp/train.sh" 2>"$tmp/err" ||
    fail "sweep failed: $(cat "$tmp/err")"
[ "$(snapshot)" = "$orig" ] || fail "the tree was not restored: $(diff <(echo "$orig") <(snapshot))"
[ "$(tr '\n' ' ' <"$tmp/seen")" = "1500000 1500000 2000000 2000000 3000000 3000000 " ] ||
    fail "the runs did not see their caps: $(cat "$tmp/seen")"
for s in 1500000 2000000 3000000; do
    d=$tmp/sweep/cpu_freq_khz-$s-r1
    grep -qx "setting=$s" "$d/dvfs-setting" || fail "$d/dvfs-setting: $(cat "$d/dvfs-setting" 2>&1)"
    grep -qx "knob=cpu_freq_khz" "$d/dvfs-setting" || fail "no knob in $d/dvfs-setting"
    grep -qx "status=0" "$d/dvfs-setting" || fail "status in $d/dvfs-setting"
    ls "$d"/*.gstrace >/dev/null 2>&1 || fail "no trace in $d"
done
[ ! -e "$tmp/sweep/.caps-state.json" ] || fail "state file left behind"

"$ana" dvfs "$tmp/sweep" --format json -o "$tmp/rec.json" 2>"$tmp/aerr" || fail "dvfs on the sweep: $(cat "$tmp/aerr")"
"$ana" dvfs "$tmp/sweep" | sed 's/^/    /'
pycheck "$tmp/rec.json" <<'PY'
r = load(sys.argv[1])
whole = [x for x in r["recommendations"] if x["layer"] is None]
eq("whole-job recommendations", len(whole), 1)
w = whole[0]
eq("knob", w["knob"], "cpu_freq_khz")
eq("device", w["device"], None)
eq("provenance", w["provenance"], "fitted")
eq("baseline (hardware maximum from the sweep's tree)", w["baseline"], 3000000)
if w["recommended"] not in (1000000, 1500000, 2000000, 2500000, 3000000):
    print("recommended %r is not one of the tree's available frequencies" % w["recommended"]); sys.exit(1)
if not (w["slowdown_pct"] <= 5 + 1e-9): print("slowdown", w["slowdown_pct"]); sys.exit(1)
fit = [f for f in r["fits"] if f["layer"] is None][0]
eq("settings fitted", fit["settings"], 3)
if fit["loo_energy_error_pct"] is None: print("no leave-one-out error"); sys.exit(1)
layers = [x for x in r["recommendations"] if x["layer"] is not None]
if len(layers) < 3: print("want the 3 layers, got", [x["layer"] for x in layers]); sys.exit(1)
print("sweep fit: recommended %g kHz, predicted %.3g J, loo energy error %.2f%% (measured on a VM whose clock does not change)"
      % (w["recommended"], w["predicted_energy_j"], fit["loo_energy_error_pct"]))
PY
[ $? -eq 0 ] || fail "recommendation from the sweep"

# a command failing at one setting: restored, the sweep goes on, exit 1
mk_tree
cat >"$tmp/flaky.sh" <<SH
#!/bin/sh
read f <"$sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq"
[ "\$f" != 2000000 ] || exit 7
exec "$build/examples/mlp_train" --steps 20 --quiet
SH
chmod +x "$tmp/flaky.sh"
"$front" sweep --cpu-freqs 1500000,2000000,3000000 --repeat 2 -o "$tmp/sweep2" -- "$tmp/flaky.sh" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "a failing run: exit $rc, want 1: $(cat "$tmp/err")"
[ "$(snapshot)" = "$orig" ] || fail "not restored after a failing run"
grep -qx "status=7" "$tmp/sweep2/cpu_freq_khz-2000000-r1/dvfs-setting" || fail "failing status not recorded"
[ -e "$tmp/sweep2/cpu_freq_khz-3000000-r1/dvfs-setting" ] || fail "the sweep stopped after the failure"
grep -qx "repeat=2" "$tmp/sweep2/cpu_freq_khz-3000000-r2/dvfs-setting" || fail "--repeat 2: no second run"
"$ana" dvfs "$tmp/sweep2" >"$tmp/out2" 2>&1 || fail "dvfs with a failed run: $(cat "$tmp/out2")"
grep -q "the command failed at this setting" "$tmp/out2" || fail "failed run not reported: $(cat "$tmp/out2")"

# interrupted: the cap in force is put back
mk_tree
"$front" sweep --cpu-freqs 1500000,2000000 -o "$tmp/sweep3" -- sleep 2 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do
    [ "$(cat "$sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq")" = 1500000 ] && break
    sleep 0.1
done
[ "$(cat "$sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq")" = 1500000 ] || fail "first cap never applied"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] || fail "interrupted sweep: exit $rc, want 130: $(cat "$tmp/err")"
[ "$(snapshot)" = "$orig" ] || fail "not restored after an interrupt: $(diff <(echo "$orig") <(snapshot))"
[ ! -e "$tmp/sweep3/cpu_freq_khz-2000000-r1" ] || fail "the sweep went on after the interrupt"

# GPU knobs through the stand-in nvidia-smi: each setting locked (or its power
# limit set) before its run and put back after it, the sweep analysed per knob
export GREENSHIM_NVIDIA_SMI=$root/tests/fakes/nvidia-smi FAKE_NVSMI_LOG=$tmp/smi.log FAKE_NVSMI_STATE=$tmp/gpu
mkdir -p "$tmp/gpu"; echo 250.00 >"$tmp/gpu/power_limit"; : >"$tmp/smi.log"
"$front" sweep --gpu-clocks 810,1110,1410 -o "$tmp/gsweep" -- "$build/examples/mlp_train" --steps 30 --quiet 2>"$tmp/err" ||
    fail "GPU clock sweep: $(cat "$tmp/err")"
[ "$(grep -cE -- '-lgc' "$tmp/smi.log")" = 3 ] && [ "$(grep -cE -- '-rgc' "$tmp/smi.log")" = 3 ] ||
    fail "want 3 locks and 3 releases: $(cat "$tmp/smi.log")"
[ "$(grep -E -- '-lgc|-rgc' "$tmp/smi.log" | tr '\t' ' ' | tr '\n' '|')" = \
  "-i 0 -lgc 810,810|-i 0 -rgc|-i 0 -lgc 1110,1110|-i 0 -rgc|-i 0 -lgc 1410,1410|-i 0 -rgc|" ] ||
    fail "lock/release order: $(cat "$tmp/smi.log")"
grep -qx "device=0" "$tmp/gsweep/gpu_sm_clock_mhz-1110-r1/dvfs-setting" || fail "no device in the GPU tag"
grep -q "^available=210 225 " "$tmp/gsweep/gpu_sm_clock_mhz-1110-r1/dvfs-setting" || fail "supported clocks not recorded"
"$front" sweep --gpu-power-limits 150,200.5,300 -o "$tmp/psweep" -- "$build/examples/mlp_train" --steps 30 --quiet 2>"$tmp/err" ||
    fail "GPU power-limit sweep: $(cat "$tmp/err")"
[ "$(cat "$tmp/gpu/power_limit")" = 250.00 ] || fail "power limit not put back: $(cat "$tmp/gpu/power_limit")"
grep -qx "hw_max=300.00" "$tmp/psweep/gpu_power_limit_w-200.5-r1/dvfs-setting" || fail "power range not recorded"
for d in gsweep psweep; do
    "$ana" dvfs "$tmp/$d" --format json -o "$tmp/$d.json" 2>"$tmp/err" || fail "dvfs $d: $(cat "$tmp/err")"
done
pycheck "$tmp/gsweep.json" "$tmp/psweep.json" <<'PY'
for f, knob, base in ((sys.argv[1], "gpu_sm_clock_mhz", 1410), (sys.argv[2], "gpu_power_limit_w", 300)):
    w = [x for x in load(f)["recommendations"] if x["layer"] is None][0]
    eq(f + " knob", w["knob"], knob)
    eq(f + " device", w["device"], 0)
    eq(f + " baseline (the hardware maximum)", w["baseline"], base)
    eq(f + " provenance", w["provenance"], "fitted")
PY
[ $? -eq 0 ] || fail "GPU sweeps analysed"
unset GREENSHIM_NVIDIA_SMI

# bad arguments
for args in "--cpu-freqs 1e6 -- true" "--cpu-freqs 1000000" "-- true" "--cpu-freqs 1000000 --gpu-clocks 900 -- true" \
            "--cpu-freqs 1000000 --repeat 0 -- true" "--gpu-power-limits 250 --device x -- true"; do
    # shellcheck disable=SC2086
    if "$front" sweep $args >/dev/null 2>"$tmp/err"; then fail "sweep $args accepted"; fi
    rc=0; "$front" sweep $args >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "sweep $args: exit $rc, want 2"
    grep -q "greenshim sweep: " "$tmp/err" || fail "sweep $args: no message"
done
[ "$(snapshot)" = "$orig" ] || fail "bad arguments changed the tree"
echo ok
