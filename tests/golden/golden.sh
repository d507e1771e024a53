#!/usr/bin/env bash
# golden.sh - every verb and format of greenshim-analyze on the committed
# test traces (tests/fuzz/corpus, tests/fuzz/regressions, tests/data/dvfs),
# each case's exit status and output bytes hashed into one line of
# tests/golden/expected.txt.  The analyzer's outputs are a function of its
# inputs alone (no clock, no host, no path: the cases run in a scratch
# directory on relative names), so a change of any byte is a change of
# behaviour: a refactoring must leave every line as it is.
#
#   tests/golden/golden.sh [--analyzer BIN] [--update] [--show CASE]
#     (default)   compare with tests/golden/expected.txt; exit 0 same, 1 differs
#     --update    rewrite tests/golden/expected.txt (a change of behaviour: say why
#                 in the commit)
#     --show CASE print one case's output (to see what changed)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
ana=$root/build/greenshim-analyze
mode=check show=
while [ $# -gt 0 ]; do
    case $1 in
        --analyzer) ana=$(readlink -f "$2"); shift ;;
        --update) mode=update ;;
        --show) mode=show show=$2; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "golden.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$ana" ] || { echo "golden.sh: no analyzer at $ana: run make all first" >&2; exit 2; }
expected=$root/tests/golden/expected.txt
w=$(mktemp -d "${TMPDIR:-/tmp}/gs-golden.XXXXXX")
trap 'rm -rf "$w"' EXIT
cd "$w" || exit 2

# the inputs, under short relative names: single files t/NAME, runs of
# several files (a fork, ranks) as directories r/NAME
mkdir -p t r p
for f in "$root"/tests/fuzz/corpus/* "$root"/tests/fuzz/regressions/*.trace; do
    cp "$f" "t/$(basename "$f" .trace).gstrace"
done
for f in t/*-run.gstrace; do
    n=$(basename "$f" -run.gstrace)
    mkdir -p "r/$n"
    cp t/"$n"-*.gstrace "r/$n/"
done
cp "$root"/tests/data/dvfs/*.csv p/

# case NAME CMD...: run CMD, hash its status, stdout and stderr and every
# file it left under o/ (names and bytes, in name order); a worker runs its
# cases in its own directory ($w/$wk: o/ there, its lines in $w/$wk.res)
case_() {
    local name=$1 out=$w/$wk.out
    shift
    rm -rf o && mkdir o
    "$@" >"$out.1" 2>"$out.2"
    local rc=$?
    {
        echo "rc $rc"
        echo "--- stdout"; cat "$out.1"
        echo "--- stderr"; cat "$out.2"
        find o -type f | LC_ALL=C sort | while read -r f; do echo "--- $f"; cat "$f"; done
    } >"$out"
    if [ "$mode" = show ] && [ "$name" = "$show" ]; then
        cat "$out"
    fi
    echo "$name $(sha256sum <"$out" | cut -c1-16)" >>"$w/$wk.res"
}
# worker N CMDS: run the cases CMDS (a function name) in $w/N, inputs reached as ../
worker() {
    wk=$1
    mkdir -p "$w/$wk" && cd "$w/$wk" && ln -s ../t ../r ../p ../s . && : >"$w/$wk.res" && "$2" "${@:3}"
}
one_input() {
    local f=$1 k
    k=${f#*/}; k=${k%.gstrace}
    [ -d "$f" ] && k=run:$k
    case_ "$k/report" "$ana" report "$f"
    case_ "$k/report.json" "$ana" report "$f" --format json
    case_ "$k/report.csv" "$ana" report "$f" --format csv
    case_ "$k/report.thread" "$ana" report "$f" --per-thread --carbon-intensity 400
    case_ "$k/report.from" "$ana" report "$f" --from 0.001 --to 1000 --format json
    case_ "$k/report.perfetto" "$ana" report "$f" --format json --export perfetto=o/pf.json
    case_ "$k/dvfs" "$ana" dvfs "$f"
    case_ "$k/dvfs.json" "$ana" dvfs "$f" --format json
    case_ "$k/html" "$ana" html "$f" -o o/r.html
    case_ "$k/export.perfetto" "$ana" export --perfetto o/t.json "$f"
    case_ "$k/export.csv" "$ana" export --csv o/csv "$f"
    case_ "$k/diff" "$ana" diff "$f" "$f"
    case_ "$k/diff.json" "$ana" diff "$f" "$f" --format json
    case_ "$k/summarize" "$ana" summarize "$f" -o o/s.sum
    if [ -f "$f" ]; then
        case_ "$k/dump" "$ana" dump "$f"
        case_ "$k/info" "$ana" info "$f"
    fi
}
many() {
    # the verbs over several inputs
    case_ "many/report.regions" "$ana" report t/mlp_regions-0.gstrace --region model --format json
    case_ "many/report.pid" "$ana" report r/mix_fork --pid 1 --format json
    case_ "many/report.merge-runs" "$ana" report t/mlp_mono-0.gstrace t/mlp_regions-0.gstrace --merge-runs
    case_ "many/report.refused" "$ana" report t/mlp_mono-0.gstrace t/mlp_regions-0.gstrace
    case_ "many/diff" "$ana" diff t/mlp_mono-0.gstrace t/mlp_regions-0.gstrace
    case_ "many/diff.repeats" "$ana" diff t/mix_threads-0.gstrace t/mix_threads-0.gstrace -- t/mix_nocounters-0.gstrace t/mix_nocounters-0.gstrace --format json
    case_ "many/diff.gpu" "$ana" diff t/gpu_nvml-0.gstrace t/gpu_cublas-0.gstrace
    case_ "many/merge" "$ana" merge s/a.sum s/b.sum
    case_ "many/merge.json" "$ana" merge s/a.sum s/b.sum --format json
    for c in p/*.csv; do
        case_ "profile:$(basename "$c" .csv)" "$ana" dvfs --profile "$c" --format json
        case_ "profile:$(basename "$c" .csv)/text" "$ana" dvfs --profile "$c" --max-slowdown 10 --objective edp
    done
    case_ "usage/none" "$ana"
    case_ "usage/help" "$ana" help
    case_ "usage/bogus" "$ana" bogus
    for v in report dump info dvfs html export diff summarize merge; do
        case_ "usage/$v" "$ana" "$v" --help
    done
}

results=$w/.results
mkdir -p s
"$ana" summarize t/ranks-0.gstrace -o s/a.sum 2>/dev/null
"$ana" summarize t/ranks-1.gstrace -o s/b.sum 2>/dev/null
# one worker per input (and one for the cases over several), as many at once
# as there are cores; the lines joined in the inputs' order
jobs=$(nproc 2>/dev/null || echo 2)
i=0 order=
for f in t/*.gstrace r/* many; do
    i=$((i + 1)); order="$order $i"
    if [ "$f" = many ]; then (worker $i many) & else (worker $i one_input "$f") & fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait
: >"$results"
for i in $order; do cat "$w/$i.res" >>"$results"; done

case $mode in
    update)
        cp "$results" "$expected"
        echo "golden: wrote $(wc -l <"$expected") cases to tests/golden/expected.txt" ;;
    show) ;;
    check)
        [ -f "$expected" ] || { echo "golden: no tests/golden/expected.txt (golden.sh --update)"; exit 1; }
        if diff -u "$expected" "$results" >"$w/.d"; then
            echo "golden: $(wc -l <"$results") cases, every output byte for byte as expected"
        else
            n=$(grep -c '^+[^+]' "$w/.d")
            echo "golden: $n of $(wc -l <"$results") cases differ (tests/golden/golden.sh --show CASE):"
            grep '^[-+][^-+]' "$w/.d" | head -40
            exit 1
        fi ;;
esac
