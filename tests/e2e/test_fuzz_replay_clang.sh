#!/usr/bin/env bash
# fuzz_replay_clang: every input of tests/fuzz/corpus and tests/fuzz/regressions
# once through the libFuzzer target built with clang's ASan+UBSan (`make
# check` builds build/fuzz/fuzz_analyze when clang is installed).  clang's
# UBSan reports what gcc's does not (NULL + 0, some nonnull arguments), and
# the gcc replay (build/tests/san_fuzz_replay) reads zeros where the clang
# build's ASan sees an overread: both run.  Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh"
fz=$build/fuzz/fuzz_analyze
[ -x "$fz" ] || skip "no clang libFuzzer build (build/fuzz/fuzz_analyze: apt-get install clang libfuzzer-14-dev, then make fuzz-build)"
inputs=$(ls "$root"/tests/fuzz/corpus/* "$root"/tests/fuzz/regressions/*.trace)
n=$(echo "$inputs" | wc -l)
[ "$n" -gt 10 ] || fail "only $n fuzz inputs found"
# file arguments: libFuzzer runs each once and exits non-zero at the first report
# shellcheck disable=SC2086
"$fz" -runs=1 -timeout=20 -rss_limit_mb=2048 $inputs >"$tmp/out" 2>&1
rc=$?
grep -q "runtime error\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|ERROR: libFuzzer" "$tmp/out" &&
    { grep -m3 -A3 "runtime error\|ERROR:" "$tmp/out"; fail "sanitizer report replaying the fuzz inputs"; }
[ $rc = 0 ] || { tail -20 "$tmp/out"; fail "fuzz target exit $rc"; }
got=$(grep -c "^Running: " "$tmp/out")
[ "$got" = "$n" ] || fail "replayed $got of $n inputs"
echo "replayed $n fuzz inputs through the clang ASan+UBSan build: no report"
