#!/usr/bin/env bash
# The damaged-trace end-to-end tests again, with the analyzer built with gcc
# ASan+UBSan (-fno-sanitize-recover: any report fails the run), `make
# sanitize` -> build/san/greenshim-analyze.  Runs every tests/e2e/ script
# whose name says truncated, damaged or hostile input.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
san=$build/san/greenshim-analyze
need "$san"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:exitcode=99}
n=0
for t in "$root"/tests/e2e/test_*.sh; do
    case $(basename "$t") in
        test_sanitized_*) continue ;;
        *truncat*|*damage*|*hostile*|*corrupt*) ;;
        *) continue ;;
    esac
    GS_TEST_ANALYZE=$san bash "$t" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc = 77 ]; then
        echo "$(basename "$t"): $(tail -1 "$tmp/out")"
        continue
    fi
    [ $rc = 0 ] || { tail -20 "$tmp/out"; fail "$(basename "$t") failed under ASan+UBSan (exit $rc)"; }
    grep -q "runtime error\|AddressSanitizer" "$tmp/out" && { tail -20 "$tmp/out"; fail "sanitizer report in $(basename "$t")"; }
    echo "$(basename "$t"): pass under ASan+UBSan"
    n=$((n + 1))
done
[ $n -gt 0 ] || fail "no damaged-trace test found in tests/e2e"
echo "$n damaged-trace tests pass with the ASan+UBSan analyzer"
