#!/usr/bin/env bash
# tests/run.sh itself: with a build directory of three stand-in unit tests
# (one slow pass, one failure, one skip), one line per test with its
# seconds, a "slowest:" line naming the slow one first, and the last line
# exactly "N passed, N failed, N skipped"; exit 1 (a test failed).
. "$(dirname "$0")/lib/common.sh"
b=$tmp/build
mkdir -p "$b/tests"
printf '#!/bin/sh\nsleep 2\n' >"$b/tests/zz_gs_slow"
printf '#!/bin/sh\necho broken; exit 3\n' >"$b/tests/zz_gs_fails"
printf '#!/bin/sh\necho "skip: no such hardware"; exit 77\n' >"$b/tests/zz_gs_skips"
chmod +x "$b/tests"/zz_gs_*
BUILD=$b "$root/tests/run.sh" unit/zz_gs_ >"$tmp/out" 2>&1
rc=$?
sed 's/^/    /' "$tmp/out"
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (a test failed)"
grep -qE '^PASS unit/zz_gs_slow \([0-9]+s\)$' "$tmp/out" || fail "no PASS line with seconds for the slow test"
grep -qE '^FAIL unit/zz_gs_fails \(exit 3\)$' "$tmp/out" || fail "no FAIL line"
grep -qx '    broken' "$tmp/out" || fail "the failure's output is not shown"
grep -qx 'SKIP unit/zz_gs_skips: no such hardware' "$tmp/out" || fail "no SKIP line with the reason"
grep -qE '^slowest: unit/zz_gs_slow [2-9][0-9]*s, ' "$tmp/out" || fail "the slowest line does not name the slow test first"
[ "$(tail -1 "$tmp/out")" = "1 passed, 1 failed, 1 skipped" ] || fail "last line: $(tail -1 "$tmp/out")"
echo "runner: one line per test with seconds, the slowest named, the counts last"
