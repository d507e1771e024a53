#!/bin/sh
# bench/run.sh - the recorder's overhead, side by side in one run, same
# binaries, rounds alternating so that drift hits every side.  `make bench`.
#   1. per tiny cblas_dgemm (bench/tiny_gemm.c): untraced; the floor wrapper
#      (bench/floor/floor_wrap.c: two rdtsc + a 48-byte store into a reused
#      ring); greenshim with counters off and with default counters; uftrace
#      (`uftrace record --force -F cblas_dgemm`) when installed.  Added wall
#      ns per call (best of 5 reps, median of ROUNDS), CPU per call of all the
#      process's threads (the recorder's helpers included), bytes per call;
#   2. out of space: 300,000 tiny calls on a 2 MiB tmpfs (private mount
#      namespace), under a 1 MiB cap and on the normal disk: time per call,
#      calls recorded and counted lost;
#   3. (analyzer throughput: bench/analyzer.sh, which `make bench` runs next);
#   4. fixed per-process cost and the slowdown of the demo trainers.
# BENCH_ONLY=oos runs section 2 alone.
# The machine's load average is printed before and after: these VMs are
# shared, and a busy machine starves the recorder's preparer thread.
set -eu
cd "$(dirname "$0")/.."
B=build
LIB=$PWD/$B/libgreenshim.so
N=${BENCH_CALLS:-1000000}
ROUNDS=${BENCH_ROUNDS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} GREENSHIM_QUIET=1
unset GREENSHIM_OUT GREENSHIM_MAX_MB GREENSHIM_EVENTS LD_PRELOAD 2>/dev/null || true

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
traced() { rm -rf "$tmp/t"; GREENSHIM_OUT=$tmp/t LD_PRELOAD=$LIB "$@"; }
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
M=300000
# case: label, then env assignments; DIR is where the trace goes
oos() {
    label=$1; dir=$2; shift 2
    : >"$tmp/oos.t"
    for r in 1 2 3; do
        rm -rf "$dir"
        a=$(now)
        env "$@" GREENSHIM_EVENTS=none GREENSHIM_OUT="$dir" LD_PRELOAD="$LIB" $B/bench/tiny_gemm $M 1 cblas cpu >"$tmp/oos.ns"
        b=$(now)
        echo "$a $b" | awk '{print $2-$1}' >>"$tmp/oos.t"
    done
    sum=$($B/greenshim-analyze dump "$dir"/*.gstrace | python3 tests/e2e/lib/lost.py)
    echo "$label: process $(median <"$tmp/oos.t" | awk '{printf "%.3f s", $1}') (median of 3), loop $(awk '{printf "%.1f ns/call wall, %.1f calling-thread CPU", $1, $3}' "$tmp/oos.ns"); $sum"
}
# (inside a private mount namespace) the full-tmpfs case
if [ "${1:-}" = --oos-tmpfs ]; then
    mount -t tmpfs -o size=2m tmpfs "$2" || exit 1
    oos "300k calls, 2 MiB tmpfs (full)" "$2/t"
    exit 0
fi

if [ "${BENCH_ONLY:-}" != oos ]; then
cc -O2 -shared -fPIC -o "$tmp/libfloor.so" bench/floor/floor_wrap.c -ldl
have_uftrace=0
command -v uftrace >/dev/null 2>&1 && have_uftrace=1

echo "# greenshim overhead ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "# OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS, $N calls x 5 reps per point, best rep, median of $ROUNDS rounds; load average before: $(load)"
# one side: name, then the command prefix; appends "wall cpu" to $tmp/<name>
side() {
    name=$1; shift
    "$@" $B/bench/tiny_gemm "$N" 5 cblas cpu >>"$tmp/$name"
}
uft() { rm -rf "$tmp/u"; uftrace record --force -F cblas_dgemm -d "$tmp/u" "$@"; }
for name in untraced floor off on uftrace; do : >"$tmp/$name"; done
for r in $(seq "$ROUNDS"); do
    side untraced env
    side floor env LD_PRELOAD="$tmp/libfloor.so"
    side off env GREENSHIM_EVENTS=none GREENSHIM_OUT="$tmp/t" LD_PRELOAD="$LIB"
    rm -rf "$tmp/t"
    side on env GREENSHIM_OUT="$tmp/t" LD_PRELOAD="$LIB"
    rm -rf "$tmp/t"
    [ $have_uftrace = 1 ] && side uftrace uft
done
col() { awk -v c="$1" '{print $c}' "$tmp/$2" | median; }
u=$(col 1 untraced); uc=$(col 2 untraced); ut=$(col 3 untraced)
fl=$(col 1 floor); ft=$(col 3 floor)
echo "# wall: best rep, added over untraced (and x the floor wrapper's added); thread: the calling thread's CPU"
echo "# per call, added (x floor); all: CPU of every thread of the process per call, added; helpers: all"
echo "# minus thread (the ring's helper thread and the sampler), added"
row() { # label name bytes
    w=$(col 1 "$2"); c=$(col 2 "$2"); t=$(col 3 "$2")
    awk -v l="$1" -v w="$w" -v c="$c" -v t="$t" -v u="$u" -v uc="$uc" -v ut="$ut" -v f="$fl" -v ft="$ft" -v b="$3" 'BEGIN {
        printf "%-32s wall %6.1f ns %+6.1f (%4.1fx) | thread %+6.1f (%4.1fx) | all %+6.1f | helpers %+5.1f | %s\n",
               l, w, w-u, ((f-u) > 0 ? (w-u)/(f-u) : 0), t-ut, ((ft-ut) > 0 ? (t-ut)/(ft-ut) : 0), c-uc,
               (c-t)-(uc-ut), b }'
}
# bytes per call: one run of N calls each
rm -rf "$tmp/t"; GREENSHIM_EVENTS=none GREENSHIM_OUT=$tmp/t LD_PRELOAD=$LIB $B/bench/tiny_gemm "$N" 1 >/dev/null
bytes_off=$(cat "$tmp"/t/*.gstrace | wc -c); disk_off=$(du -k "$tmp/t" | tail -1 | cut -f1)
rm -rf "$tmp/t"; GREENSHIM_OUT=$tmp/t LD_PRELOAD=$LIB $B/bench/tiny_gemm "$N" 1 >/dev/null
bytes_on=$(cat "$tmp"/t/*.gstrace | wc -c)
rm -rf "$tmp/t"
# the trace's own bytes per call, without the fixed part (header, the ring's
# 1 MiB): the file of 2N calls minus the file of N, over N
steady() { # env...
    rm -rf "$tmp/t"; env "$@" GREENSHIM_OUT=$tmp/t LD_PRELOAD=$LIB $B/bench/tiny_gemm "$N" 1 >/dev/null
    s1=$(cat "$tmp"/t/*.gstrace | wc -c)
    rm -rf "$tmp/t"; env "$@" GREENSHIM_OUT=$tmp/t GREENSHIM_DEBUG=1 LD_PRELOAD=$LIB $B/bench/tiny_gemm $((2 * N)) 1 \
        >/dev/null 2>"$tmp/dbg"
    s2=$(cat "$tmp"/t/*.gstrace | wc -c)
    rm -rf "$tmp/t"
    awk -v a="$s1" -v b="$s2" -v n="$N" 'BEGIN { printf "%.1f", (b-a)/n }'
}
steady_off=$(steady GREENSHIM_EVENTS=none); ring_off=$(grep -o 'ring: .*' "$tmp/dbg")
steady_on=$(steady GREENSHIM_EVENTS=); ring_on=$(grep -o 'ring: .*' "$tmp/dbg")
bpc() { awk -v s="$1" -v n="$N" 'BEGIN { printf "%.1f bytes/call", s/n }'; }
row "untraced" untraced ""
row "floor wrapper (rdtsc x2 + ring)" floor "0 bytes/call (nothing kept)"
row "greenshim, counters off" off "$(bpc "$bytes_off") (disk $(awk -v k="$disk_off" -v n="$N" 'BEGIN{printf "%.1f", k*1024/n}'), steady $steady_off)"
row "greenshim, default counters" on "$(bpc "$bytes_on") (steady $steady_on)"
echo "# the ring at $((2 * N)) calls, counters off: $ring_off"
echo "# the ring at $((2 * N)) calls, default counters: $ring_on"
if [ $have_uftrace = 1 ]; then
    uft $B/bench/tiny_gemm "$N" 1 >/dev/null 2>&1
    row "uftrace -F cblas_dgemm" uftrace "$(bpc "$(cat "$tmp"/u/*.dat | wc -c)")"
else
    echo "uftrace: not installed (apt-get install uftrace; scripts/install-deps.sh --bench)"
fi
set -- $($B/bench/page_touch)
awk -v f="$1" -v s="$2" 'BEGIN { printf "first write to a fresh anonymous page: %d ns (a rewrite: %d ns)\n", f, s }'
echo "# load average after the per-call rounds: $(load)"

fi
# ---- out of space: 300,000 tiny calls, whole process timed, 3 runs each ----
untr() {
    : >"$tmp/oos.t"
    for r in 1 2 3; do
        a=$(now); $B/bench/tiny_gemm $M 1 cblas cpu >"$tmp/oos.ns"; b=$(now)
        echo "$a $b" | awk '{print $2-$1}' >>"$tmp/oos.t"
    done
    echo "300k calls, untraced: process $(median <"$tmp/oos.t" | awk '{printf "%.3f s", $1}'), loop $(awk '{printf "%.1f ns/call wall, %.1f calling-thread CPU", $1, $3}' "$tmp/oos.ns")"
}
untr
oos "300k calls, normal disk" "$tmp/d"
oos "300k calls, 1 MiB cap (GREENSHIM_MAX_MB=1)" "$tmp/c" GREENSHIM_MAX_MB=1
mkdir -p "$tmp/fs"
if unshare -m true 2>/dev/null; then
    unshare -m sh bench/run.sh --oos-tmpfs "$tmp/fs"
else
    echo "300k calls, 2 MiB tmpfs: skipped (mount namespaces not allowed)"
fi

if [ "${BENCH_ONLY:-}" != oos ]; then
# ---- whole programs ----
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
# a process that makes no intercepted call: 200 interleaved pairs (one pair
# of shell-timed runs is below the timer's noise)
if command -v python3 >/dev/null 2>&1; then
    python3 bench/startup.py "$B/libgreenshim.so" 200 | sed 's/^/fixed per-process cost (\/bin\/true), /'
else
    trainer "fixed per-process cost (/bin/true)" /bin/true
fi
[ -x $B/examples/mlp_train ] && trainer "demo trainer (mlp_train --steps 1000)" $B/examples/mlp_train --steps 1000 --quiet
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    trainer "PyTorch MLP (examples/torch_mlp.py --steps 200)" /usr/bin/python3 examples/torch_mlp.py --steps 200
else
    echo "PyTorch MLP: skipped (python3-torch not installed)"
fi
fi
echo "# load average at the end: $(load)"
