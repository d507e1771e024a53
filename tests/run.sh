#!/usr/bin/env bash
# run.sh - the test runner `make check` calls (after building everything):
# every unit-test binary build/tests/* (from tests/unit/test_*.c) and every
# end-to-end script tests/e2e/test_*.sh, each under a timeout, JOBS of them
# at a time (default: the number of cores; the tests are written to pass with
# every core busy, and a script with a line "# run.sh: alone" runs with no
# other test beside it).  One line per test, in the order of the list:
#     PASS name
#     FAIL name            followed by the last lines of its output, indented
#     SKIP name: reason    (exit status 77; the reason is its last output line)
# each with its seconds, then "slowest: name Ns, ..." (the five longest, and
# the whole run's seconds) and, as the last line, "N passed, N failed, N
# skipped".  Exit status 1 when any test failed, else 0.
#
#   tests/run.sh [PATTERN...]     only tests whose name contains a PATTERN
# Environment: UNIT_TIMEOUT (s, default 120), E2E_TIMEOUT (s, default 240),
# JOBS (tests at once, default nproc; 1: one after the other), BUILD (default build).  Every selected test runs, whatever failed before.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
unit_timeout=${UNIT_TIMEOUT:-120}
e2e_timeout=${E2E_TIMEOUT:-240}
# tests choose their own recorder settings
unset GREENSHIM GREENSHIM_OUT LD_PRELOAD 2>/dev/null || true

jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in ''|*[!0-9]*|0) echo "run.sh: JOBS must be a positive integer, not '$jobs'" >&2; exit 2 ;; esac
passed=0 failed=0 skipped=0
dir=$(mktemp -d "${TMPDIR:-/tmp}/gs-run.XXXXXX")
times=$dir/times
: >"$times"
trap 'kill $(jobs -rp) 2>/dev/null; rm -rf "$dir"' EXIT
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

run_one() {   # index name timeout cmd...: the test's verdict into $dir/index.{rc,line,log}
    local i=$1 name=$2 limit=$3
    shift 3
    local start end rc
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" >"$dir/$i.log" 2>&1 </dev/null
    rc=$?
    end=$(date +%s)
    echo "$((end - start)) $name" >>"$times"
    echo "$((end - start))" >"$dir/$i.secs"
    echo "$rc" >"$dir/$i.rc"
}

report_one() {   # index name: its line(s), counted
    local i=$1 name=$2 rc secs log=$dir/$1.log
    rc=$(cat "$dir/$i.rc") secs=$(cat "$dir/$i.secs")
    case $rc in
        0)  passed=$((passed + 1))
            echo "PASS $name (${secs}s)" ;;
        77) skipped=$((skipped + 1))
            local reason
            reason=$(grep -v '^[[:space:]]*$' "$log" | tail -1)
            reason=${reason#skip: }
            reason=${reason#SKIP: }
            echo "SKIP $name: ${reason:-no reason given}" ;;
        124|137)
            failed=$((failed + 1))
            echo "FAIL $name (timed out after ${secs}s)"
            tail -n 20 "$log" | sed 's/^/    /' ;;
        *)  failed=$((failed + 1))
            echo "FAIL $name (exit $rc)"
            tail -n 20 "$log" | sed 's/^/    /' ;;
    esac
}

names=() limits=() cmds=() alone=()
if [ -d "$build/tests" ]; then
    for t in "$build"/tests/*; do
        [ -f "$t" ] && [ -x "$t" ] || continue
        name=unit/${t##*/}
        wanted "$name" "$@" || continue
        names+=("$name") limits+=("$unit_timeout") cmds+=("$t") alone+=(0)
    done
fi
for t in tests/e2e/test_*.sh; do
    [ -f "$t" ] || continue
    name=${t##*/}; name=e2e/${name%.sh}
    wanted "$name" "$@" || continue
    a=0; grep -q '^# run.sh: alone' "$t" && a=1
    names+=("$name") limits+=("$e2e_timeout") cmds+=("$t") alone+=("$a")
done

n=${#names[@]} next=0 shown=0 running=0
flush() {   # print the finished tests at the head of the list, in order
    while [ "$shown" -lt "$next" ] && [ -f "$dir/$shown.rc" ]; do
        report_one "$shown" "${names[$shown]}"
        shown=$((shown + 1))
    done
}
busy() { running=0; local i; for ((i = shown; i < next; i++)); do [ -f "$dir/$i.rc" ] || running=$((running + 1)); done; }
while [ "$next" -lt "$n" ]; do
    busy
    if [ "${alone[$next]}" = 1 ] || { [ "$next" -gt 0 ] && [ "${alone[$((next - 1))]}" = 1 ]; }; then
        lim=0      # alone: nothing beside it, before or after
    else
        lim=$((jobs - 1))
    fi
    if [ "$running" -gt "$lim" ]; then
        wait -n 2>/dev/null || sleep 0.2
        flush
        continue
    fi
    case ${cmds[$next]} in
        *.sh) (run_one "$next" "${names[$next]}" "${limits[$next]}" bash "${cmds[$next]}") & ;;
        *)    (run_one "$next" "${names[$next]}" "${limits[$next]}" "${cmds[$next]}") & ;;
    esac
    next=$((next + 1))
    flush
done
wait
flush

# where the time went: the five slowest tests, and the whole run
slow=$(sort -rn "$times" | head -5 | awk '{printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1}')
[ -n "$slow" ] && echo "slowest: $slow (all $(wc -l <"$times") tests: $(($(date +%s) - t_all))s)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
