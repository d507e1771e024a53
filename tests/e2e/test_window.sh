#!/usr/bin/env bash
# The report's window is the recorder's: from the process's first
# intercepted call to its exit, and the report says so, with how long the
# process ran before it (not recorded; the header's process.age_ns, from
# /proc/self/stat).  A shell that sleeps 0.5 s and then execs a BLAS
# program keeps its pid and start time: at least 0.5 s before the window,
# said in the text ("window: ...") and the JSON ("window" object); the
# same program run directly starts its window sooner.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"
record "$tmp/late" sh -c 'sleep 0.5; exec "$1" >/dev/null' sh "$build/examples/blas_mix" || fail "late run failed"
record "$tmp/now" "$build/examples/blas_mix" >/dev/null || fail "direct run failed"
"$ana" report "$tmp/late" >"$tmp/late.txt" 2>&1 || fail "report: $(cat "$tmp/late.txt")"
grep '^  window: from the first intercepted call to exit' "$tmp/late.txt" || fail "no window line: $(head -8 "$tmp/late.txt")"
grep -q 'the process ran before its first intercepted call is not recorded' "$tmp/late.txt" || fail "the time before the window is not named"
report_json "$tmp/late" "$tmp/late.json" || fail "analyzer exit $?"
report_json "$tmp/now" "$tmp/now.json" || fail "analyzer exit $?"
pycheck "$tmp/late.json" "$tmp/now.json" <<'PY' || exit 1
late, now = load(sys.argv[1])["window"], load(sys.argv[2])["window"]
eq("starts_at", late["starts_at"], "first intercepted call")
b = late["not_recorded_before_s"]
if not (isinstance(b, float) and 0.5 <= b < 30):
    print("FAIL: not_recorded_before_s %r after a 0.5 s sleep" % b); sys.exit(1)
if not (now["not_recorded_before_s"] is not None and 0 <= now["not_recorded_before_s"] < b - 0.4):
    print("FAIL: direct run %r s before the window, late run %r s" % (now["not_recorded_before_s"], b)); sys.exit(1)
print("window: %.3f s before the first intercepted call after a 0.5 s sleep, %.3f s run directly"
      % (b, now["not_recorded_before_s"]))
PY
