#!/usr/bin/env bash
# analyzer.sh - the analyzer's throughput and memory (`make bench` runs it
# after bench/run.sh):
#   * a 5 M-call trace recorded from bench/tiny_gemm (1 M calls x 5, counters
#     default): CPU (user + sys) and peak RSS of `report --format json`,
#     against one `sha1sum` pass over the same file; calls (records) per
#     second of analyzer CPU; best of ROUNDS (default 3);
#   * the same for a 4-thread trace (bench/threads_gemm 4 x 1.25 M calls:
#     the sweep merges the threads by time);
#   * 5k / 20k / 40k distinct regions (bench/regions_trace): report time.
# Timings are noisy on a shared machine: run it on a quiet one.
#   bench/analyzer.sh [ANALYZER]      (default build/greenshim-analyze)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
B=${BUILD:-build}
ana=${1:-$B/greenshim-analyze}
rounds=${ROUNDS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gs-anabench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in "$ana" "$B/libgreenshim.so" "$B/bench/tiny_gemm" "$B/bench/threads_gemm" "$B/bench/regions_trace"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f: run make all first"; exit 1; }
done
export GREENSHIM_QUIET=1 OPENBLAS_NUM_THREADS=1
LD_PRELOAD=$B/libgreenshim.so GREENSHIM_OUT=$tmp/t "$B/bench/tiny_gemm" 1000000 5 >/dev/null
trace=$(ls "$tmp"/t/*.gstrace | head -1)
calls=$("$ana" info "$trace" | awk '/^calls:/ {print $2}')
bytes=$(stat -c %s "$trace")
cpu_of() {   # cmd... -> "cpu_s rss_kb" (best of $rounds by CPU)
    local best="" line
    for _ in $(seq "$rounds"); do
        line=$(/usr/bin/time -f "%U %S %M" "$@" 2>&1 >/dev/null | tail -1)
        line=$(echo "$line" | awk '{printf "%.3f %d\n", $1 + $2, $3}')
        if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1]) }'; then
            best=$line
        fi
    done
    echo "$best"
}
read -r sha_cpu sha_rss < <(cpu_of sha1sum "$trace")
read -r ana_cpu ana_rss < <(cpu_of "$ana" report "$trace" --format json)
echo "# greenshim-analyze ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
awk -v c="$calls" -v b="$bytes" -v a="$ana_cpu" -v r="$ana_rss" -v s="$sha_cpu" 'BEGIN {
    printf "5 M-call trace (%d calls, %.0f MB): report --format json %.3f s CPU (measured), %.1f M calls/s, peak RSS %.1f MB; sha1sum %.3f s CPU: %.2fx sha1sum\n",
           c, b / 1e6, a, c / a / 1e6, r / 1024, s, a / s }'
LD_PRELOAD=$B/libgreenshim.so GREENSHIM_OUT=$tmp/t4 "$B/bench/threads_gemm" 4 1250000 >/dev/null
trace4=$(ls "$tmp"/t4/*.gstrace | head -1)
calls4=$("$ana" info "$trace4" | awk '/^calls:/ {print $2}')
read -r sha4_cpu _ < <(cpu_of sha1sum "$trace4")
read -r ana4_cpu ana4_rss < <(cpu_of "$ana" report "$trace4" --format json)
awk -v c="$calls4" -v b="$(stat -c %s "$trace4")" -v a="$ana4_cpu" -v r="$ana4_rss" -v s="$sha4_cpu" 'BEGIN {
    printf "4-thread trace (%d calls, %.0f MB): report --format json %.3f s CPU (measured), %.1f M calls/s, peak RSS %.1f MB; sha1sum %.3f s CPU: %.2fx sha1sum\n",
           c, b / 1e6, a, c / a / 1e6, r / 1024, s, a / s }'
rm -rf "$tmp/t4"
for n in 5000 20000 40000; do
    "$B/bench/regions_trace" $n "$tmp/r$n.gstrace"
    read -r c r < <(cpu_of "$ana" report "$tmp/r$n.gstrace" --format json)
    echo "$n distinct regions: report --format json $c s CPU (measured), peak RSS $(awk -v r="$r" 'BEGIN{printf "%.1f", r/1024}') MB"
done
