#!/usr/bin/env bash
# run.sh - the test runner `make check` calls (after building everything):
# every unit-test binary build/tests/* (from tests/unit/test_*.c) and every
# end-to-end script tests/e2e/test_*.sh, one at a time, each under a timeout.
# One line per test:
#     PASS name
#     FAIL name            followed by the last lines of its output, indented
#     SKIP name: reason    (exit status 77; the reason is its last output line)
# each with its seconds, then "slowest: name Ns, ..." (the five longest, and
# the whole run's seconds) and, as the last line, "N passed, N failed, N
# skipped".  Exit status 1 when any test failed, else 0.
#
#   tests/run.sh [PATTERN...]     only tests whose name contains a PATTERN
# Environment: UNIT_TIMEOUT (s, default 120), E2E_TIMEOUT (s, default 240),
# BUILD (default build).  Every selected test runs, whatever failed before.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
unit_timeout=${UNIT_TIMEOUT:-120}
e2e_timeout=${E2E_TIMEOUT:-240}
# tests choose their own recorder settings
unset GREENSHIM GREENSHIM_OUT LD_PRELOAD 2>/dev/null || true

passed=0 failed=0 skipped=0
log=$(mktemp "${TMPDIR:-/tmp}/gs-run.XXXXXX")
times=$(mktemp "${TMPDIR:-/tmp}/gs-run-times.XXXXXX")
trap 'rm -f "$log" "$times"' EXIT
t_all=$(date +%s)

wanted() {
    [ $# -le 1 ] && return 0
    local name=$1
    shift
    for p; do
        case "$name" in *"$p"*) return 0 ;; esac
    done
    return 1
}

run_one() {   # name timeout cmd...
    local name=$1 limit=$2
    shift 2
    local start end rc
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null
    rc=$?
    end=$(date +%s)
    echo "$((end - start)) $name" >>"$times"
    case $rc in
        0)  passed=$((passed + 1))
            echo "PASS $name ($((end - start))s)" ;;
        77) skipped=$((skipped + 1))
            local reason
            reason=$(grep -v '^[[:space:]]*$' "$log" | tail -1)
            reason=${reason#skip: }
            reason=${reason#SKIP: }
            echo "SKIP $name: ${reason:-no reason given}" ;;
        124|137)
            failed=$((failed + 1))
            echo "FAIL $name (timed out after ${limit}s)"
            tail -n 20 "$log" | sed 's/^/    /' ;;
        *)  failed=$((failed + 1))
            echo "FAIL $name (exit $rc)"
            tail -n 20 "$log" | sed 's/^/    /' ;;
    esac
}

units=()
if [ -d "$build/tests" ]; then
    for t in "$build"/tests/*; do
        [ -f "$t" ] && [ -x "$t" ] && units+=("$t")
    done
fi
for t in "${units[@]+"${units[@]}"}"; do
    name=unit/${t##*/}
    wanted "$name" "$@" || continue
    run_one "$name" "$unit_timeout" "$t"
done
for t in tests/e2e/test_*.sh; do
    [ -f "$t" ] || continue
    name=${t##*/}; name=e2e/${name%.sh}
    wanted "$name" "$@" || continue
    run_one "$name" "$e2e_timeout" bash "$t"
done

# where the time went: the five slowest tests, and the whole run
slow=$(sort -rn "$times" | head -5 | awk '{printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1}')
[ -n "$slow" ] && echo "slowest: $slow (all $(wc -l <"$times") tests: $(($(date +%s) - t_all))s)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
