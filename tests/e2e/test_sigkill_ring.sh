#!/usr/bin/env bash
# SIGKILL at random moments (single thread and 4 threads, 5 kills each,
# 0-0.3 s after the program runs): threads make tiny calls for ever and
# count each finished call in a MAP_SHARED file (tests/e2e/src/killcount.c).
# The ring's segments are copied to the file every ~1,400 calls, so kills
# land in copies too.  After each kill every thread's calls in the trace
# are exactly the calls it had finished, or one more (the one in flight),
# each once and in time order: nothing written before the kill is lost,
# nothing is read twice (a chunk caught both in the ring and in its copy).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
gcc -O2 -pthread "$root/tests/e2e/src/killcount.c" -o "$tmp/killcount" -lopenblas || fail "cannot build killcount.c"
for threads in 1 4; do
    for i in 1 2 3 4 5; do
        d=$tmp/k$threads.$i
        rm -f "$tmp/count" "$tmp/out"
        GREENSHIM_EVENTS=none OPENBLAS_NUM_THREADS=1 LD_PRELOAD="$lib" GREENSHIM_OUT="$d" \
            "$tmp/killcount" "$tmp/count" $threads >"$tmp/out" 2>&1 &
        pid=$!      # the program itself: the kill must reach it
        for _ in $(seq 100); do grep -q running "$tmp/out" 2>/dev/null && break; sleep 0.02; done
        sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        f=$(ls "$d"/*.gstrace 2>/dev/null) || fail "$threads threads, kill $i: no trace"
        "$ana" dump "$f" >"$d.dump" 2>"$d.err" || fail "$threads threads, kill $i: dump exit $?: $(tail -2 "$d.err")"
        "$py" - "$tmp/count" "$d.dump" $threads "$threads threads, kill $i" <<'PY' || exit 1
import re, struct, sys
raw = open(sys.argv[1], "rb").read()
nt = int(sys.argv[3])
done = {}
for j in range(nt):
    tid, n = struct.unpack_from("<QQ", raw, 16 * j)
    if tid:
        done[tid] = n
calls = {}
for line in open(sys.argv[2]):
    if " CALL " not in line:
        continue
    f = line.split()
    tid = int(f[1][4:])
    t0 = int(next(x for x in f if x.startswith("t0="))[3:])
    calls.setdefault(tid, []).append(t0)
msg = []
for tid, n in done.items():
    ts = calls.get(tid, [])
    if not (n <= len(ts) <= n + 1):
        msg.append("thread %d finished %d calls, trace has %d" % (tid, n, len(ts)))
    if any(b <= a for a, b in zip(ts, ts[1:])):
        msg.append("thread %d: calls out of order or twice" % tid)
extra = set(calls) - set(done)
if extra:
    msg.append("calls of unknown threads %s" % sorted(extra))
if msg:
    sys.exit(sys.argv[4] + ": " + "; ".join(msg))
print(sys.argv[4] + ": " + ", ".join("%d/%d calls" % (len(calls.get(t, [])), n) for t, n in done.items()))
PY
    done
done
echo "10 SIGKILLs (1 and 4 threads): every finished call in the trace once, in order"
