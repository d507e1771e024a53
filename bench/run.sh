#!/bin/sh
# bench/run.sh - the recorder's overhead, traced vs untraced, same binaries,
# same run, alternating so that drift hits both sides.  `make bench`.
#   1. added ns per intercepted call: a loop of 2x2 dgemm (bench/tiny_gemm.c),
#      counters off and default counters;
#   2. trace bytes per call;
#   3. slowdown of the demo trainer and of the PyTorch MLP.
set -eu
cd "$(dirname "$0")/.."
B=build
LIB=$PWD/$B/libgreenshim.so
N=${BENCH_CALLS:-1000000}
ROUNDS=${BENCH_ROUNDS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} GREENSHIM_QUIET=1

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
traced() { rm -rf "$tmp/t"; GREENSHIM_OUT=$tmp/t LD_PRELOAD=$LIB "$@"; }
now() { date +%s.%N; }

echo "# greenshim overhead ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "# OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS, $N calls x 5 reps per point, best rep, median of $ROUNDS rounds"
for form in cblas fortran; do
    : >"$tmp/u"; : >"$tmp/off"; : >"$tmp/on"
    for r in $(seq "$ROUNDS"); do
        $B/bench/tiny_gemm "$N" 5 $form >>"$tmp/u"
        GREENSHIM_EVENTS=none traced $B/bench/tiny_gemm "$N" 5 $form >>"$tmp/off"
        traced $B/bench/tiny_gemm "$N" 5 $form >>"$tmp/on"
    done
    u=$(median <"$tmp/u"); off=$(median <"$tmp/off"); on=$(median <"$tmp/on")
    awk -v f=$form -v u="$u" -v a="$off" -v b="$on" 'BEGIN {
        printf "tiny dgemm (%s): untraced %.1f ns/call; traced, counters off %.1f (+%.1f ns); default counters %.1f (+%.1f ns)\n", f, u, a, a-u, b, b-u }'
done

rm -rf "$tmp/t"
GREENSHIM_EVENTS=none GREENSHIM_OUT=$tmp/t LD_PRELOAD=$LIB $B/bench/tiny_gemm "$N" 1 >/dev/null
sz=$(stat -c %s "$tmp"/t/*.gstrace)
awk -v s="$sz" -v n="$N" 'BEGIN { printf "trace bytes per call: %.1f (file %d bytes for %d calls, counters off; 48-byte records, 1 MiB chunks, 16 KiB header)\n", (s-16384)/n, s, n }'
set -- $($B/bench/page_touch)
awk -v f="$1" -v s="$2" 'BEGIN { printf "first write to a fresh page: %d ns (a rewrite: %d ns): %.1f ns of every 48-byte record is the machine paging in trace memory\n", f, s, f/(4096/48) }'

trainer() { # name, then command
    name=$1; shift
    : >"$tmp/tu"; : >"$tmp/tt"
    for r in $(seq "$ROUNDS"); do
        a=$(now); "$@" >/dev/null 2>&1; b=$(now)
        traced "$@" >/dev/null 2>&1; c=$(now)
        echo "$a $b" | awk '{print $2-$1}' >>"$tmp/tu"
        echo "$b $c" | awk '{print $2-$1}' >>"$tmp/tt"
    done
    u=$(median <"$tmp/tu"); t=$(median <"$tmp/tt")
    awk -v n="$name" -v u="$u" -v t="$t" 'BEGIN { printf "%s: untraced %.3f s, traced %.3f s, %+.1f ms, slowdown %+.2f%%\n", n, u, t, (t-u)*1e3, (t/u-1)*100 }'
}
trainer "fixed per-process cost (/bin/true)" /bin/true
[ -x $B/examples/mlp_train ] && trainer "demo trainer (mlp_train --steps 1000)" $B/examples/mlp_train --steps 1000 --quiet
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    trainer "PyTorch MLP (examples/torch_mlp.py --steps 200)" /usr/bin/python3 examples/torch_mlp.py --steps 200
else
    echo "PyTorch MLP: skipped (python3-torch not installed)"
fi
