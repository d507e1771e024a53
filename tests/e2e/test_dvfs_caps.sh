#!/usr/bin/env bash
# test_dvfs_caps.sh - scripts/apply-caps and scripts/restore-caps on a
# synthetic cpufreq tree (GREENSHIM_SYSFS_ROOT) and the stand-in nvidia-smi
# (tests/fakes/nvidia-smi, which logs its arguments): apply -> restore puts
# back exactly what was there, --dry-run changes nothing, and every refusal
# (not root, malformed JSON, a string for a number, NaN, out of range,
# unknown knob, duplicate, already applied, a failure part way, a 401-digit
# integer, 100,000-deep JSON) exits non-zero with one clear message (never a
# traceback) and leaves the machine as it was; a state path whose rename
# fails leaves no temp file; restore checks every saved value against the
# device's limits again and formats numbers exactly; restore is not
# all-or-nothing: what can be restored is, only what failed stays saved.
. "$(dirname "$0")/lib/common.sh"
apply=$root/scripts/apply-caps
restore=$root/scripts/restore-caps
need "$apply" "$restore" "$root/tests/fakes/nvidia-smi"
[ "$(id -u)" -eq 0 ] || skip "needs root (apply-caps refuses otherwise; the non-root refusal is tested as root via setpriv)"

sys=$tmp/sys
mk_tree() {
    rm -rf "$sys"
    for p in 0 1; do
        d=$sys/devices/system/cpu/cpufreq/policy$p
        mkdir -p "$d"
        echo 800000 >"$d/cpuinfo_min_freq"
        echo 3000000 >"$d/cpuinfo_max_freq"
        echo 1200000 >"$d/scaling_min_freq"
        echo $((2800000 + p * 100000)) >"$d/scaling_max_freq"
    done
    rm -rf "$tmp/gpu"; mkdir -p "$tmp/gpu"; echo 275.00 >"$tmp/gpu/power_limit"
}
snapshot() { (cd "$sys" && grep -r . | sort; cat "$tmp/gpu/power_limit" "$tmp/gpu/locked" 2>/dev/null); }
export GREENSHIM_SYSFS_ROOT=$sys GREENSHIM_NVIDIA_SMI=$root/tests/fakes/nvidia-smi
export FAKE_NVSMI_LOG=$tmp/smi.log FAKE_NVSMI_STATE=$tmp/gpu GREENSHIM_CAPS_STATE=$tmp/state.json
unset FAKE_NVSMI_FAIL

rec() {   # file knob device value [layer]
    printf '{"format_version": 1, "objective": "energy", "recommendations": [{"knob": "%s", "device": %s, "layer": %s, "baseline": 3000000, "recommended": %s}]}\n' \
        "$2" "$3" "${5:-null}" "$4" >"$1"
}
expect_refusal() {   # what file [apply args...]: non-zero, a message, nothing changed, no state left
    local what=$1 before
    shift
    before=$(snapshot)
    : >"$tmp/smi.log"
    if "$apply" "$@" >"$tmp/out" 2>"$tmp/err"; then
        fail "$what: accepted ($(cat "$tmp/out" "$tmp/err"))"
    fi
    grep -q "apply-caps: " "$tmp/err" || fail "$what: no message on stderr: $(cat "$tmp/err")"
    [ "$(snapshot)" = "$before" ] || fail "$what: the tree changed"
    [ -n "${keep_state:-}" ] || [ ! -e "$GREENSHIM_CAPS_STATE" ] || fail "$what: a state file was left"
    if grep -qE -- '-pl|-lgc' "$tmp/smi.log"; then fail "$what: nvidia-smi was asked to change something"; fi
    echo "refused ($what): $(head -1 "$tmp/err")"
}

# 1. round trip: CPU and both GPU knobs
mk_tree
orig=$(snapshot)
cat >"$tmp/all.json" <<'JSON'
{"format_version": 1, "objective": "energy", "max_slowdown_pct": 5, "recommendations": [
 {"knob": "cpu_freq_khz", "device": null, "layer": null, "baseline": 3000000, "recommended": 1000000,
  "predicted_time_s": 1, "predicted_energy_j": 2, "energy_saving_pct": 3, "slowdown_pct": 4, "provenance": "fitted", "uncertainty_pct": 1},
 {"knob": "cpu_freq_khz", "device": null, "layer": "fc1", "baseline": 3000000, "recommended": 900000},
 {"knob": "gpu_sm_clock_mhz", "device": 0, "layer": null, "baseline": 1410, "recommended": 1005},
 {"knob": "gpu_power_limit_w", "device": 0, "layer": null, "baseline": 300, "recommended": 220.5}]}
JSON
: >"$tmp/smi.log"
"$apply" --dry-run "$tmp/all.json" >"$tmp/dry" 2>&1 || fail "dry run failed: $(cat "$tmp/dry")"
[ "$(snapshot)" = "$orig" ] || fail "--dry-run changed the tree"
[ ! -e "$GREENSHIM_CAPS_STATE" ] || fail "--dry-run saved a state"
grep -q "write 1000000 to $sys/devices/system/cpu/cpufreq/policy0/scaling_min_freq" "$tmp/dry" || fail "dry run: $(cat "$tmp/dry")"
grep -q "write 1000000 to $sys/devices/system/cpu/cpufreq/policy1/scaling_max_freq" "$tmp/dry" || fail "dry run: $(cat "$tmp/dry")"
grep -q -- "-i 0 -lgc 1005,1005" "$tmp/dry" || fail "dry run lacks -lgc: $(cat "$tmp/dry")"
grep -q -- "-i 0 -pl 220.5" "$tmp/dry" || fail "dry run lacks -pl: $(cat "$tmp/dry")"
if grep -qE -- '-pl|-lgc' "$tmp/smi.log"; then fail "dry run ran a changing nvidia-smi command"; fi

"$apply" "$tmp/all.json" 2>"$tmp/err" || fail "apply failed: $(cat "$tmp/err")"
p0=$sys/devices/system/cpu/cpufreq/policy0
[ "$(cat "$p0/scaling_max_freq")" = 1000000 ] || fail "policy0 max not capped"
[ "$(cat "$p0/scaling_min_freq")" = 1000000 ] || fail "policy0 min not lowered below the cap"
[ "$(cat "$sys/devices/system/cpu/cpufreq/policy1/scaling_max_freq")" = 1000000 ] || fail "policy1 not capped"
[ "$(cat "$tmp/gpu/locked")" = "1005,1005" ] || fail "GPU clocks not locked"
[ "$(cat "$tmp/gpu/power_limit")" = "220.50" ] || fail "GPU power limit not set"
grep -qx -e $'-i\t0\t-lgc\t1005,1005' "$tmp/smi.log" || fail "nvidia-smi args: $(cat "$tmp/smi.log")"
[ -s "$GREENSHIM_CAPS_STATE" ] || fail "no saved state"
# a second apply before restoring would save the capped state as 'previous'
mk_state=$(cat "$GREENSHIM_CAPS_STATE")
keep_state=1 expect_refusal "already applied" "$tmp/all.json"
[ "$(cat "$GREENSHIM_CAPS_STATE")" = "$mk_state" ] || fail "a second apply changed the saved state"
"$restore" --dry-run >"$tmp/rdry" 2>&1 || fail "restore --dry-run failed"
grep -q "write 2900000 to $sys/devices/system/cpu/cpufreq/policy1/scaling_max_freq" "$tmp/rdry" || fail "restore dry run: $(cat "$tmp/rdry")"
[ "$(cat "$GREENSHIM_CAPS_STATE")" = "$mk_state" ] || fail "restore --dry-run touched the state"
"$restore" 2>"$tmp/err" || fail "restore failed: $(cat "$tmp/err")"
echo none >"$tmp/gpu/locked.want"
[ "$(cat "$tmp/gpu/locked")" = none ] || fail "GPU clocks not released"
rm -f "$tmp/gpu/locked" "$tmp/gpu/locked.want"
[ "$(snapshot)" = "$orig" ] || fail "restore did not put back exactly what was there: $(diff <(echo "$orig") <(snapshot))"
[ ! -e "$GREENSHIM_CAPS_STATE" ] || fail "state file left after restore"
if "$restore" 2>"$tmp/err"; then fail "restore with nothing saved succeeded"; fi
grep -q "nothing to restore" "$tmp/err" || fail "restore without state: $(cat "$tmp/err")"
echo "round trip: ok"

# 2. refusals
mk_tree
rec "$tmp/r.json" cpu_freq_khz null 1000000
command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"
chmod 755 "$tmp"; chmod 644 "$tmp/r.json"
# the unprivileged user may not reach the checkout (a clone under a 0700
# mktemp directory): run copies of the two scripts from a readable place
mkdir -m 755 "$tmp/nr" && cp "$apply" "$restore" "$tmp/nr/" && chmod 755 "$tmp/nr"/*
apply=$tmp/nr/apply-caps restore=$tmp/nr/restore-caps
if setpriv --reuid=65534 --regid=65534 --clear-groups "$apply" "$tmp/r.json" >"$tmp/out" 2>"$tmp/err"; then
    fail "non-root apply accepted"
fi
grep -q "must run as root" "$tmp/err" || fail "non-root: $(cat "$tmp/err")"
setpriv --reuid=65534 --regid=65534 --clear-groups "$apply" --dry-run "$tmp/r.json" >"$tmp/out" 2>"$tmp/err" ||
    fail "non-root --dry-run refused: $(cat "$tmp/err")"
if setpriv --reuid=65534 --regid=65534 --clear-groups "$restore" >"$tmp/out" 2>"$tmp/err"; then fail "non-root restore accepted"; fi
grep -q "must run as root" "$tmp/err" || fail "non-root restore: $(cat "$tmp/err")"
echo "refused (not root): $(cat "$tmp/err")"

printf '{"format_version": 1, "recommendations": [' >"$tmp/bad1.json"
expect_refusal "malformed JSON" "$tmp/bad1.json"
rec "$tmp/bad2.json" cpu_freq_khz null '"1000000"'
expect_refusal "string for a number" "$tmp/bad2.json"
rec "$tmp/bad3.json" cpu_freq_khz null NaN
expect_refusal "NaN" "$tmp/bad3.json"
rec "$tmp/bad4.json" cpu_freq_khz null 500000
expect_refusal "below the hardware minimum" "$tmp/bad4.json"
grep -q "outside policy0's hardware range 800000..3000000" "$tmp/err" || fail "range message: $(cat "$tmp/err")"
rec "$tmp/bad5.json" cpu_freq_khz null 3500000
expect_refusal "above the hardware maximum" "$tmp/bad5.json"
rec "$tmp/bad6.json" cpu_turbo null 1000000
expect_refusal "unknown knob" "$tmp/bad6.json"
grep -q "unknown knob 'cpu_turbo'" "$tmp/err" || fail "unknown knob message: $(cat "$tmp/err")"
rec "$tmp/bad7.json" gpu_power_limit_w 0 50
expect_refusal "GPU power limit below its minimum" "$tmp/bad7.json"
rec "$tmp/bad8.json" gpu_sm_clock_mhz 0 2000
expect_refusal "GPU clock above its maximum" "$tmp/bad8.json"
rec "$tmp/bad9.json" gpu_sm_clock_mhz '"0; rm -rf /"' 1000
expect_refusal "a string for the device" "$tmp/bad9.json"
rec "$tmp/bad10.json" gpu_sm_clock_mhz 3 1000
expect_refusal "a GPU that does not exist" "$tmp/bad10.json"
rec "$tmp/bad11.json" cpu_freq_khz null true
expect_refusal "a boolean for a number" "$tmp/bad11.json"
printf '{"format_version": 1, "format_version": 1, "recommendations": []}' >"$tmp/bad12.json"
expect_refusal "duplicate key" "$tmp/bad12.json"
rec "$tmp/bad13.json" cpu_freq_khz null 1000000 '"fc1"'
expect_refusal "only per-layer settings" "$tmp/bad13.json"
printf '[1, 2]' >"$tmp/bad14.json"
expect_refusal "not an object" "$tmp/bad14.json"
expect_refusal "no such file" "$tmp/none.json"
expect_refusal "two files" "$tmp/r.json" "$tmp/r.json"
expect_refusal "unknown option" --force "$tmp/r.json"
rm -rf "$sys/devices/system/cpu/cpufreq"
expect_refusal "no cpufreq" "$tmp/r.json"

# 3. a failure part way rolls back what was applied
mk_tree
orig=$(snapshot)
FAKE_NVSMI_FAIL=pl "$apply" "$tmp/all.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "failure part way: exit $rc, want 1: $(cat "$tmp/err")"
grep -q "rolled back" "$tmp/err" || fail "no rollback message: $(cat "$tmp/err")"
rm -f "$tmp/gpu/locked"
[ "$(snapshot)" = "$orig" ] || fail "rollback left changes: $(diff <(echo "$orig") <(snapshot))"
[ ! -e "$GREENSHIM_CAPS_STATE" ] || fail "state left after a rollback"
grep -q -- "-rgc" "$tmp/smi.log" || fail "locked clocks not released by the rollback"
echo "refused (failure part way): $(grep -c . "$tmp/err") lines, rolled back"

# 4. a state file that is not ours is not trusted
mk_tree
echo '{"format_version": 1, "cpu": [{"policy": "../../../etc", "scaling_max_freq": 1, "scaling_min_freq": 1}], "gpu": []}' \
    >"$GREENSHIM_CAPS_STATE"
if "$restore" 2>"$tmp/err"; then fail "restore from a forged state succeeded"; fi
grep -q "not what apply-caps writes" "$tmp/err" || fail "forged state: $(cat "$tmp/err")"

# 5. numbers and nesting Python's json takes but nothing here should: one
# line, exit 2, for the recommendation and for the saved state alike
rm -f "$GREENSHIM_CAPS_STATE"
one_line_2() {   # what prog file... : exit 2, exactly one "PROG: " line, no traceback
    local what=$1 prog=$2 rc name
    shift 2
    name=$(basename "$prog")
    "$prog" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "$what: exit $rc, want 2: $(head -c 600 "$tmp/err")"
    [ "$(grep -c . "$tmp/err")" -eq 1 ] || fail "$what: want one line on stderr, got: $(head -c 600 "$tmp/err")"
    grep -q "^$name: " "$tmp/err" || fail "$what: not a $name: line: $(head -c 300 "$tmp/err")"
    echo "refused ($what): $(cut -c1-110 "$tmp/err")"
}
mk_tree
big=1$(printf '%0400d' 0)
rec "$tmp/big.json" cpu_freq_khz null "$big"
one_line_2 "a 401-digit integer" "$apply" "$tmp/big.json"
one_line_2 "a 401-digit integer, dry run" "$apply" --dry-run "$tmp/big.json"
"$py" -c 'import sys; n = 100000; sys.stdout.write("[" * n + "]" * n)' >"$tmp/deep.json"
one_line_2 "100,000-deep JSON" "$apply" "$tmp/deep.json"
cp "$tmp/deep.json" "$GREENSHIM_CAPS_STATE"
one_line_2 "100,000-deep saved state" "$restore"
printf '{"format_version": 1, "cpu": [{"policy": "policy0", "scaling_max_freq": %s, "scaling_min_freq": 1}], "gpu": []}\n' \
    "$big" >"$GREENSHIM_CAPS_STATE"
one_line_2 "a 401-digit integer in the saved state" "$restore"
rm -f "$GREENSHIM_CAPS_STATE"

# 6. a state path whose rename fails (a name longer than NAME_MAX: mkstemp
# in its directory works, the rename does not) leaves no temp file
mk_tree
orig=$(snapshot)
mkdir -p "$tmp/sd"
rec "$tmp/r.json" cpu_freq_khz null 1000000
if "$apply" --state "$tmp/sd/$(printf 'x%.0s' $(seq 300))" "$tmp/r.json" >"$tmp/out" 2>"$tmp/err"; then
    fail "apply with an unsavable state succeeded"
fi
grep -q "cannot save the current state" "$tmp/err" || fail "unsavable state: $(cat "$tmp/err")"
[ -z "$(ls -A "$tmp/sd")" ] || fail "a failed save left $(ls -A "$tmp/sd")"
[ "$(snapshot)" = "$orig" ] || fail "an unsavable state still changed the tree"
echo "refused (state rename fails): $(head -1 "$tmp/err"); nothing left in its directory"

# 7. restore checks the saved values against the device's limits again and
# formats them exactly; what is out of range is reported and kept
mk_tree
orig=$(snapshot)
"$apply" "$tmp/all.json" 2>"$tmp/err" || fail "apply failed: $(cat "$tmp/err")"
"$py" - "$GREENSHIM_CAPS_STATE" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["cpu"][0]["scaling_max_freq"] = 99999999999     # far above cpuinfo_max_freq
s["gpu"][0]["power_limit_w"] = 123456789          # far above the power-limit range
json.dump(s, open(sys.argv[1], "w"))
PY
: >"$tmp/smi.log"
"$restore" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "restore of out-of-range values: exit $rc, want 1: $(cat "$tmp/err")"
p0=$sys/devices/system/cpu/cpufreq/policy0 p1=$sys/devices/system/cpu/cpufreq/policy1
[ "$(cat "$p0/scaling_max_freq")" = 1000000 ] || fail "policy0 got $(cat "$p0/scaling_max_freq") from an edited state"
[ "$(cat "$p1/scaling_max_freq")" = 2900000 ] || fail "policy1 (in range) was not restored"
grep -q "policy0: saved scaling_max_freq 99999999999 is outside policy0's hardware range 800000..3000000" "$tmp/err" ||
    fail "no message for policy0: $(cat "$tmp/err")"
grep -q "saved power limit 123456789 W is outside GPU 0's 100..300 W" "$tmp/err" ||
    fail "power limit not checked or not formatted exactly: $(cat "$tmp/err")"
if grep -q -- $'-pl\t' "$tmp/smi.log"; then fail "nvidia-smi -pl ran with an out-of-range value: $(cat "$tmp/smi.log")"; fi
grep -qx -e $'-i\t0\t-rgc' "$tmp/smi.log" || fail "the GPU clocks were not released: $(cat "$tmp/smi.log")"
"$py" - "$GREENSHIM_CAPS_STATE" <<'PY' || fail "state after a partial restore: $(cat "$GREENSHIM_CAPS_STATE")"
import json, sys
s = json.load(open(sys.argv[1]))
assert [c["policy"] for c in s["cpu"]] == ["policy0"], s
assert s["gpu"] == [{"device": 0, "clocks_locked": False, "power_limit_w": 123456789}], s
PY
# an exact value in range: 123.4567 W reaches nvidia-smi as 123.4567 (%g: 123.457)
echo '{"format_version": 1, "cpu": [], "gpu": [{"device": 0, "power_limit_w": 123.4567, "clocks_locked": false}]}' \
    >"$GREENSHIM_CAPS_STATE"
: >"$tmp/smi.log"
"$restore" 2>"$tmp/err" || fail "restore of 123.4567 W failed: $(cat "$tmp/err")"
grep -qx -e $'-i\t0\t-pl\t123.4567' "$tmp/smi.log" || fail "power limit not exact: $(grep -- -pl "$tmp/smi.log")"
[ ! -e "$GREENSHIM_CAPS_STATE" ] || fail "state left after a full restore"
echo "restore checks limits again: policy0 and the power limit kept, the rest restored; 123.4567 W exact"

# 8. restore is not all-or-nothing: a policy gone (CPU offlined) does not
# stop the GPU; only it stays saved, and a retry does only it
mk_tree
orig=$(snapshot)
"$apply" "$tmp/all.json" 2>"$tmp/err" || fail "apply failed: $(cat "$tmp/err")"
mv "$p0" "$tmp/policy0.away"
: >"$tmp/smi.log"
"$restore" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "restore with a policy gone: exit $rc, want 1: $(cat "$tmp/err")"
grep -q "not restored: policy0: cannot read" "$tmp/err" || fail "no message for the missing policy: $(cat "$tmp/err")"
[ "$(cat "$p1/scaling_max_freq")" = 2900000 ] || fail "policy1 not restored behind a missing policy0"
grep -qx -e $'-i\t0\t-rgc' "$tmp/smi.log" || fail "GPU clocks not released behind a missing policy: $(cat "$tmp/smi.log")"
grep -qx -e $'-i\t0\t-pl\t275' "$tmp/smi.log" || fail "GPU power limit not restored behind a missing policy: $(cat "$tmp/smi.log")"
"$py" - "$GREENSHIM_CAPS_STATE" <<'PY' || fail "state after a partial restore: $(cat "$GREENSHIM_CAPS_STATE")"
import json, sys
s = json.load(open(sys.argv[1]))
assert [c["policy"] for c in s["cpu"]] == ["policy0"] and s["gpu"] == [], s
PY
mv "$tmp/policy0.away" "$p0"
: >"$tmp/smi.log"
"$restore" 2>"$tmp/err" || fail "the retry failed: $(cat "$tmp/err")"
[ ! -s "$tmp/smi.log" ] || fail "the retry ran nvidia-smi again: $(cat "$tmp/smi.log")"
rm -f "$tmp/gpu/locked"
[ "$(snapshot)" = "$orig" ] || fail "after the retry: $(diff <(echo "$orig") <(snapshot))"
[ ! -e "$GREENSHIM_CAPS_STATE" ] || fail "state left after the retry"
# the GPU clock release failing: the rest is restored, only the lock stays
"$apply" "$tmp/all.json" 2>"$tmp/err" || fail "apply failed: $(cat "$tmp/err")"
FAKE_NVSMI_FAIL=rgc "$restore" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "restore with -rgc failing: $(cat "$tmp/err")"
[ "$(cat "$tmp/gpu/power_limit")" = 275.00 ] || fail "power limit not restored while -rgc failed"
"$py" - "$GREENSHIM_CAPS_STATE" <<'PY' || fail "state after -rgc failed: $(cat "$GREENSHIM_CAPS_STATE")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["cpu"] == [] and s["gpu"] == [{"device": 0, "clocks_locked": True, "power_limit_w": None}], s
PY
: >"$tmp/smi.log"
"$restore" 2>"$tmp/err" || fail "the retry of -rgc failed: $(cat "$tmp/err")"
[ "$(cat "$tmp/smi.log")" = $'-i\t0\t-rgc' ] || fail "the retry did more than -rgc: $(cat "$tmp/smi.log")"
rm -f "$tmp/gpu/locked"
[ "$(snapshot)" = "$orig" ] || fail "after the -rgc retry: $(diff <(echo "$orig") <(snapshot))"
echo "partial restore: a missing policy and a failing -rgc keep only themselves; retries do only them"
echo "ok"
