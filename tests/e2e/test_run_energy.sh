#!/usr/bin/env bash
# A run is one unit for energy (issue 6 item 4): two concurrent workers and
# their shell under a synthetic constant 40 W RAPL tree (tests/fakes/
# fake_powercap on a tmpfs over /sys/class in a private mount namespace, as
# in test_energy_rapl.sh).  The package is sampled by one process of the run
# at a time (the holder of the run's lock; the other takes over when it
# exits), so the run's package energy over the run's span is 40 W +- 7%, not
# 40 W per process.  Checked in the exit summary line and in the analyzer's
# report (package-0 joules over the run's duration); the report's package
# joules equal the summary's (the series merged across processes, by key).  Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/fakes/fake_powercap" "$build/examples/mlp_train"
unset GREENSHIM_QUIET
if ! unshare -m true 2>/dev/null; then
    skip "unshare -m not permitted here (needs root or user namespaces): cannot mount a fake /sys/class/powercap"
fi
chmod 755 "$tmp"
cat >"$tmp/ns.sh" <<'NS'
set -u
mount --make-rprivate / && mount -t tmpfs greenshim-fake /sys/class || { echo "mount failed"; exit 3; }
rt=(); chrt -f 10 true 2>/dev/null && rt=(chrt -f 10)
"${rt[@]}" "$B/fakes/fake_powercap" /sys/class/powercap --profile "100:40" --idle 40 --delay-ms 0 \
    --ready "$TMP/ready" --period-us 200 &
w=$!
for _ in $(seq 200); do [ -f "$TMP/ready" ] && break; sleep 0.01; done
[ -f "$TMP/ready" ] || { echo "fake_powercap did not start"; kill $w; exit 3; }
# a program that closes every descriptor while it samples the package, then
# opens 250 files: none of them may get the recorder's hand-over text
if "$PY" -c 'import numpy' 2>/dev/null; then
    mkdir -p "$TMP/fds"
    OPENBLAS_NUM_THREADS=1 GREENSHIM_SAMPLE_HZ=200 GREENSHIM_QUIET=1 "$B/greenshim" record -o "$TMP/fdrun" -- \
        "$PY" -c 'import numpy as np, os, sys, time
a = np.ones((64, 64)); a @ a; time.sleep(0.3)
os.closerange(3, 4096)
fs = [os.open(os.path.join(sys.argv[1], "f%d" % i), os.O_RDWR | os.O_CREAT) for i in range(250)]
t = time.time()
while time.time() - t < 0.5: a @ a
os._exit(0)' "$TMP/fds" || { echo "descriptor-closing run failed"; exit 3; }
fi
# two workers of different lengths: the package series passes from one to the other
OPENBLAS_NUM_THREADS=1 GREENSHIM_SAMPLE_HZ=200 "$B/greenshim" record -o "$TMP/out" -- \
    sh -c '"$1" --steps 120 --quiet & sleep 0.3; "$1" --steps 300 --quiet; wait' sh "$B/examples/mlp_train" \
    >/dev/null 2>"$TMP/stderr"
rc=$?
kill $w; wait $w 2>/dev/null
exit $rc
NS
B=$build TMP=$tmp PY=$py unshare -m bash "$tmp/ns.sh"
rc=$?
[ $rc -eq 0 ] || fail "the traced run failed (rc $rc): $(cat "$tmp/stderr" 2>/dev/null)"
sed 's/^/    /' "$tmp/stderr"
if [ -d "$tmp/fds" ]; then
    [ "$(ls "$tmp/fds" | wc -l)" = 250 ] || fail "the descriptor-closing program did not run to its end"
    written=$(find "$tmp/fds" -type f -size +0 | head -3)
    [ -z "$written" ] || fail "the recorder wrote into the program's files: $written: $(head -c 200 $written)"
    ls "$tmp/fdrun"/*.gstrace >/dev/null || fail "the descriptor-closing program left no trace"
fi
[ -n "${GS_KEEP:-}" ] && trap - EXIT && echo "kept $tmp"
summary=$(grep '^greenshim: traces in ' "$tmp/stderr")
[ -n "$summary" ] || fail "no summary line"
grep -q "RAPL" "$tmp/stderr" && fail "RAPL complaint with a readable fake tree"
report_json "$tmp/out" "$tmp/r.json" || fail "analyzer exit $?: $(tail -3 "$tmp/r.json.err")"
"$py" - "$tmp/r.json" "$summary" <<'PY' || exit 1
import json, re, sys
r = json.load(open(sys.argv[1]))
summary = sys.argv[2]
fails = []
m = re.search(r"(\d+) processes, \d+ calls, energy ([\d.]+) J measured \(rapl\), ([\d.]+) W over ([\d.]+) s", summary)
if not m:
    print("FAIL: summary line lacks 'N processes ... energy J measured (rapl), W over s': " + summary); sys.exit(1)
procs, j, w, s = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
print("summary: %d processes, %.3f J over %.3f s = %.2f W (measured)" % (procs, j, s, w))
if procs != 2: fails.append("summary counts %d processes, want the 2 workers" % procs)
if abs(w - 40) > 40 * 0.07: fails.append("summary says %.2f W, want 40 W +- 7%%" % w)
pkg = [d for d in r["energy"]["domains"] if d["name"].startswith("package")]
dur = r["duration_s"]
pj = sum(d["energy_j"] for d in pkg)
span = max(d["span_s"] for d in pkg) if pkg else 0
pw = pj / span if span > 0 else 0
print("report: package %.3f J over the %.3f s its samples cover (run %.3f s) = %.2f W, provenance %s"
      % (pj, span, dur, pw, r["energy"]["provenance"]))
# sampling starts at a process's first intercepted call (nothing is paid
# before it): the series covers the run from then on, not its start-up
if span < 0.7 * dur: fails.append("package samples cover %.3f s of a %.3f s run" % (span, dur))
if r["energy"]["provenance"] != "measured": fails.append("report provenance %r" % r["energy"]["provenance"])
if abs(pw - 40) > 40 * 0.07: fails.append("report: package %.2f W, want 40 W +- 7%%" % pw)
# one series per run, merged across the hand-over: the same joules as the recorder's own tally
if abs(pj - j) > 0.01 * j: fails.append("report package %.3f J, summary %.3f J: not one series" % (pj, j))
if fails: print("FAIL: " + "; ".join(fails)); sys.exit(1)
PY
echo "two workers + shell under 40 W: one package series per run"
