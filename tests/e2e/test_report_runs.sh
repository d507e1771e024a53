#!/usr/bin/env bash
# The report treats a run as one unit (issue 6 items 4 and 7, analyzer side):
#  - three concurrent workers: the run's wall is one span, the time outside
#    intercepted calls never exceeds it, every process ended cleanly (none
#    "did not exit cleanly"), thread counts agree between text and JSON;
#  - `report A B` of two different runs is refused (exit 2, says so) unless
#    --merge-runs.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/examples/blas_mix"
gs=$build/greenshim
mix=$build/examples/blas_mix

"$gs" record -q -o "$tmp/w" -- sh -c '"$1" >/dev/null & "$1" >/dev/null & "$1" >/dev/null; wait' sh "$mix" ||
    fail "3-worker run failed"
report_json "$tmp/w" "$tmp/w.json" || fail "analyzer exit $? on the run: $(tail -3 "$tmp/w.json.err")"
"$ana" report "$tmp/w" >"$tmp/w.txt" 2>"$tmp/w.txt.err" || fail "text report failed"
pycheck "$tmp/w.json" "$tmp/w.txt" <<'PY' || exit 1
r = load(sys.argv[1])
text = open(sys.argv[2]).read()
eq("processes", r["processes"], 3)
eq("calls", r["calls"], 450)
wall = r["duration_s"]
out = r["outside"]["time_s"]
print("3 workers: wall %.4f s, outside %.4f s (%.1f%%)" % (wall, out, 100 * out / wall))
if not (0 <= out <= wall): sys.exit("outside %.6f s is not within the wall %.6f s" % (out, wall))
if r["headline"]["outside_share_of_wall"] > 1: sys.exit("outside share above 100%")
for p in r["process_list"]:
    if not p["clean_exit"]: sys.exit("pid %d: not a clean exit" % p["pid"])
    if p["lost"] != {"calls": 0, "records": 0, "reason": ""}: sys.exit("pid %d: lost %r" % (p["pid"], p["lost"]))
    line = [l for l in text.splitlines() if l.startswith("  pid %d:" % p["pid"])]
    if len(line) != 1: sys.exit("pid %d: want one text line, got %r" % (p["pid"], line))
    want = "(%d thread%s" % (p["threads"], "" if p["threads"] == 1 else "s")
    if want not in line[0]: sys.exit("pid %d: text %r does not say %r (JSON threads)" % (p["pid"], line[0], want))
if "did not exit cleanly" in text: sys.exit("a clean run reads 'did not exit cleanly'")
if r["threads"]["program"] != sum(p["threads"] for p in r["process_list"]): sys.exit("thread totals disagree")
PY

# two runs
"$gs" record -q -o "$tmp/a" -- "$mix" >/dev/null || fail "run a failed"
"$gs" record -q -o "$tmp/b" -- "$mix" >/dev/null || fail "run b failed"
"$ana" report "$tmp/a" "$tmp/b" >"$tmp/ab.txt" 2>"$tmp/ab.err"
rc=$?
[ $rc = 2 ] || fail "report of two runs: exit $rc, want 2"
grep -q "different runs" "$tmp/ab.err" || fail "report of two runs does not say so: $(cat "$tmp/ab.err")"
[ ! -s "$tmp/ab.txt" ] || fail "report of two runs printed a report"
"$ana" report "$tmp/a" "$tmp/b" --merge-runs --format json >"$tmp/ab.json" 2>"$tmp/ab.err" ||
    fail "--merge-runs: exit $?: $(cat "$tmp/ab.err")"
grep -q '"processes": 2' "$tmp/ab.json" || fail "--merge-runs: not both processes"
grep -q 'different runs merged' "$tmp/ab.json" || fail "--merge-runs: no warning in the report"
echo "two runs: refused (exit 2), reported together with --merge-runs"
