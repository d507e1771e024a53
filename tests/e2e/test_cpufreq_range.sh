#!/usr/bin/env bash
# cpufreq_range: the cpufreq source writes the hardware's frequency range into
# the trace header once (cpufreq.min_khz, cpufreq.max_khz, and the union of
# every policy's scaling_available_frequencies as cpufreq.available_khz),
# and `greenshim-analyze dvfs RUN` takes them as its candidates and baseline
# with no --candidates.  The machine's cpufreq tree is replaced by a
# synthetic one (two policies with different lists) on a tmpfs inside a
# private mount namespace (unshare -m), so nothing of the host changes.
# Without the tree (this VM) the keys are absent.  Exit 0 pass, 1 fail, 77
# skip (no unshare or no permission to mount).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"
command -v unshare >/dev/null || skip "no unshare(1)"

cat >"$tmp/inner.sh" <<'SH'
d=/sys/devices/system/cpu/cpufreq
[ -d $d ] || mkdir $d 2>/dev/null || exit 77
mount -t tmpfs gs-test $d 2>/dev/null || exit 77
mkdir $d/policy0 $d/policy1 $d/other
echo 800000 >$d/policy0/cpuinfo_min_freq
echo 3000000 >$d/policy0/cpuinfo_max_freq
echo "3000000 2400000 1600000 800000 " >$d/policy0/scaling_available_frequencies
echo 1000000 >$d/policy1/cpuinfo_min_freq
echo 3200000 >$d/policy1/cpuinfo_max_freq
echo "3200000 2400000 1000000" >$d/policy1/scaling_available_frequencies
echo 100 >$d/other/cpuinfo_min_freq          # not a policy: ignored
LD_PRELOAD="$1" GREENSHIM_OUT="$2" "$3" --steps 100 --quiet >/dev/null
SH
unshare -m bash "$tmp/inner.sh" "$lib" "$tmp/run" "$build/examples/mlp_train" 2>"$tmp/unshare.err"
rc=$?
[ $rc = 77 ] && skip "cannot mount a tmpfs over /sys/devices/system/cpu/cpufreq in a private mount namespace"
if [ $rc != 0 ] && grep -qi "unshare" "$tmp/unshare.err"; then
    skip "unshare -m not permitted here: $(head -1 "$tmp/unshare.err")"
fi
[ $rc = 0 ] || fail "mlp_train under the shim with a synthetic cpufreq tree: exit $rc: $(tail -3 "$tmp/unshare.err")"

"$ana" info "$tmp"/run/*.gstrace >"$tmp/info.txt" || fail "info: exit $?"
grep -qx "cpufreq.min_khz: 800000" "$tmp/info.txt" || fail "info: no cpufreq.min_khz: 800000: $(grep cpufreq "$tmp/info.txt")"
grep -qx "cpufreq.max_khz: 3200000" "$tmp/info.txt" || fail "info: no cpufreq.max_khz: 3200000"
grep -qx "cpufreq.available_khz: 3200000 3000000 2400000 1600000 1000000 800000" "$tmp/info.txt" ||
    fail "info: cpufreq.available_khz not the union of the policies: $(grep available "$tmp/info.txt")"
[ "$(grep -c '^cpufreq\.' "$tmp/info.txt")" = 3 ] || fail "info: the cpufreq keys are not written once each"

"$ana" dvfs "$tmp/run" --format json -o "$tmp/rec.json" 2>"$tmp/dvfs.err" ||
    fail "dvfs with the recorded candidates (no --candidates): exit $?: $(cat "$tmp/dvfs.err")"
pycheck "$tmp/rec.json" <<'PY' || exit 1
r = load(sys.argv[1])
recs = r["recommendations"]
if not recs: print("FAIL: no recommendations"); sys.exit(1)
avail = {3200000, 3000000, 2400000, 1600000, 1000000, 800000}
for x in recs:
    eq("knob", x["knob"], "cpu_freq_khz")
    eq("baseline (cpufreq.max_khz)", x["baseline"], 3200000)
    if x["recommended"] not in avail:
        print("FAIL: recommended %r is not one of the recorded frequencies" % x["recommended"]); sys.exit(1)
print("dvfs: %d recommendations, baseline 3200000 kHz, all among the recorded frequencies (%s)" %
      (len(recs), sorted({x["recommended"] for x in recs})))
PY

# without cpufreq (this VM's /sys, if it has none): no keys, dvfs asks for candidates
if ! ls /sys/devices/system/cpu/cpufreq/policy* >/dev/null 2>&1; then
    record "$tmp/plain" "$build/examples/mlp_train" --steps 100 --quiet >/dev/null || fail "mlp_train under the shim failed"
    "$ana" info "$tmp"/plain/*.gstrace | grep -q '^cpufreq\.' && fail "cpufreq keys written with no cpufreq"
    "$ana" dvfs "$tmp/plain" >/dev/null 2>"$tmp/plain.err" && fail "dvfs without candidates or cpufreq succeeded"
    grep -q -- "--candidates" "$tmp/plain.err" || fail "dvfs without cpufreq: no hint to give --candidates: $(cat "$tmp/plain.err")"
fi
echo "cpufreq_range: min/max/available frequencies recorded once from the policies; dvfs uses them as candidates"
