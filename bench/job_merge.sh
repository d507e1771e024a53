#!/usr/bin/env bash
# job_merge.sh - summarize + merge of a large job (issue 18): 1,024
# synthetic ranks (bench/synth_job: 16 nodes x 64 ranks, STEPS steps of 4
# sgemm + one allreduce) summarized one node at a time, then merged; for
# each step the wall and CPU time and the peak RSS (GNU time), the
# summaries' size; then `report` over all 16 directories for comparison,
# and a check that merge and report agree (ranks, calls, waits).
#   bench/job_merge.sh [STEPS]   (default 200)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
B=${BUILD:-build}
ana=$B/greenshim-analyze
steps=${1:-200}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gs-jobbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)"; exit 1; }
"$B/bench/synth_job" "$tmp/j" 1024 16 "$steps" 250 || exit 1
echo "1,024 ranks x $steps steps ($((1024 * steps * 5)) calls) over 16 nodes: $(du -sh "$tmp/j" | cut -f1) of traces"
tm() {   # label cmd...
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { echo "$label failed: $(cat "$tmp/err")"; exit 1; }
    read -r e u s m <"$tmp/t"
    printf "  %-34s wall %6.2f s  cpu %6.2f s  peak RSS %7.1f MiB\n" "$label" "$e" "$(echo "$u + $s" | bc)" "$(echo "$m / 1024" | bc -l)"
}
for n in $(seq 0 15); do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t.$n" "$ana" summarize "$tmp/j/node-$n" -o "$tmp/$n.sum" 2>"$tmp/err" ||
        { echo "summarize failed: $(cat "$tmp/err")"; exit 1; }
done
awk '{w += $1; c += $2 + $3; if ($4 > m) m = $4} END {printf "  %-34s wall %6.2f s  cpu %6.2f s  peak RSS %7.1f MiB (largest)\n", "summarize, 16 nodes one after another", w, c, m / 1024}' "$tmp"/t.*
echo "  summaries: $(cat "$tmp"/*.sum | wc -c) bytes in all ($(wc -c <"$tmp/0.sum") for one node of 64 ranks)"
tm "merge of 16 summaries (json)" "$ana" merge "$tmp"/*.sum --format json -o "$tmp/m.json"
tm "report over all 16 directories" "$ana" report "$tmp"/j/node-* --format json -o "$tmp/r.json"
python3 - "$tmp/r.json" "$tmp/m.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2]))
bad = [a["rank"] for a, b in zip(r["ranks"], m["ranks"]) if a != b]
print("  merge vs report: %d ranks, %d calls / %d, waits %.3f s / %.3f s, %s" % (
    len(m["ranks"]), m["job"]["calls"], r["job"]["calls"], m["job"]["wait_s"], r["job"]["wait_s"],
    "rank rows identical" if not bad and len(r["ranks"]) == len(m["ranks"]) else "DIFFER at ranks %r" % bad[:5]))
sys.exit(1 if bad else 0)
PY
