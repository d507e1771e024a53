#!/usr/bin/env bash
# The report of a run as one unit (issue 6 item 4, analyzer side): a shell
# running two workers and a Python process that only opens a region and
# leaves with os._exit (as fork workers do):
#  - the text report lists the processes that made calls and folds the
#    others into one line; the JSON keeps every process;
#  - every process ended cleanly (os._exit included): no "did not exit
#    cleanly"; a worker killed with SIGKILL is the only one said to have not;
#  - times add up: the time outside calls is at most the run's duration and,
#    with the calls (summed over threads, so overlapping), covers it;
#  - the summary line and the report agree on processes and calls; the
#    summary says when a process ended without a clean exit.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/examples/blas_mix" "$build/examples/mlp_train"
unset GREENSHIM_QUIET
gs=$build/greenshim
mix=$build/examples/blas_mix

"$gs" record -o "$tmp/r" -- sh -c '"$1" >/dev/null & "$1" >/dev/null & "$2" -c "import greenshim, os
with greenshim.region(\"setup\"):
    pass
os._exit(0)"; wait' sh "$mix" "$py" 2>"$tmp/r.err" || fail "run failed: $(cat "$tmp/r.err")"
grep -q "^greenshim: traces in $tmp/r: 3 processes, 300 calls" "$tmp/r.err" || fail "summary: $(cat "$tmp/r.err")"
"$ana" report "$tmp/r" >"$tmp/r.txt" 2>"$tmp/r.txt.err" || fail "report failed: $(cat "$tmp/r.txt.err")"
report_json "$tmp/r" "$tmp/r.json" || fail "json report failed: $(cat "$tmp/r.json.err")"
grep -qi "did not exit cleanly" "$tmp/r.txt" "$tmp/r.txt.err" "$tmp/r.json.err" &&
    fail "a process that ended normally is said not to have exited cleanly: $(grep -hi 'did not exit' "$tmp"/r.*)"
[ "$(grep -c '^  pid [0-9]*: ' "$tmp/r.txt")" = 2 ] || fail "text report: want the 2 processes with calls listed: $(head -6 "$tmp/r.txt")"
grep -q "^  + 1 process made no intercepted call" "$tmp/r.txt" || fail "text report: the process without calls is not folded: $(head -6 "$tmp/r.txt")"
"$py" - "$tmp/r.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
fails = []
pl = r["process_list"]
if len(pl) != 3: fails.append("JSON lists %d processes, want 3" % len(pl))
if sorted(p["calls"] for p in pl) != [0, 150, 150]: fails.append("calls per process %r" % [p["calls"] for p in pl])
if not all(p["clean_exit"] for p in pl): fails.append("clean_exit %r" % [p["clean_exit"] for p in pl])
calls_t = sum(o["time_s"] for o in r["ops"])
total = calls_t + r["outside"]["time_s"]
print("calls %.6f s + outside %.6f s = %.6f s; duration %.6f s" % (calls_t, r["outside"]["time_s"], total, r["duration_s"]))
if r["outside"]["time_s"] > r["duration_s"] * (1 + 1e-6): fails.append("outside is longer than the run")
if total < 0.99 * r["duration_s"]: fails.append("calls and outside do not cover the run")
if fails: print("FAIL: " + "; ".join(fails)); sys.exit(1)
PY

# a worker killed with SIGKILL: it alone did not exit cleanly
"$gs" record -o "$tmp/k" -- sh -c '"$1" --steps 100000 --quiet & k=$!; "$2" >/dev/null; sleep 0.5; kill -9 $k; wait' \
    sh "$build/examples/mlp_train" "$mix" 2>"$tmp/k.err" || true
grep -q "^greenshim: traces in $tmp/k: 2 processes (1 ended without a clean exit: killed?; .*), 150 calls" "$tmp/k.err" ||
    fail "killed run: the summary does not say one process ended without a clean exit: $(cat "$tmp/k.err")"
"$ana" report "$tmp/k" >"$tmp/k.txt" 2>&1 || fail "report of the killed run failed: $(tail -3 "$tmp/k.txt")"
pids=$(grep -i "did not exit cleanly" "$tmp/k.txt" | grep -o "pid [0-9]*\|process [0-9]*" | grep -o "[0-9]*" | sort -u)
[ "$(echo "$pids" | grep -c .)" = 1 ] || fail "killed run: want one process said to have not exited cleanly, got: $(grep -i 'exit' "$tmp/k.txt")"
killed=$(ls "$tmp/k"/*.gstrace | while read -r f; do [ "$("$ana" info "$f" | sed -n 's/^clean_exit: //p')" = no ] && "$ana" info "$f" | sed -n 's/^pid: //p'; done)
[ "$pids" = "$killed" ] || fail "the report names pid $pids, the unclean trace is pid $killed"
echo "run report: processes folded, clean exits true, times add up, the killed one named"
