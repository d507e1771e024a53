#!/usr/bin/env bash
# SIGKILL mid-run: examples/blas_mix --hang N makes N cblas_dgemm (8x8x8),
# prints "ready" and sleeps; kill -9.  The trace (file-backed buffers) is
# still readable: the analyzer exits 0 and counts all N calls.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"
N=2000

LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/k" "$build/examples/blas_mix" --hang $N >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 200); do
    grep -q ready "$tmp/out" 2>/dev/null && break   # (the file may not exist yet)
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
grep -q ready "$tmp/out" || { kill -9 $pid 2>/dev/null; fail "blas_mix --hang never printed ready: $(cat "$tmp/err")"; }
kill -9 $pid
wait $pid 2>/dev/null
status=$?
[ $status = 137 ] || fail "blas_mix exit status $status, want 137 (SIGKILL)"
ls "$tmp/k"/*.gstrace >/dev/null 2>&1 || fail "no trace file after SIGKILL"
report_json "$tmp/k" "$tmp/k.json"
rc=$?
[ $rc = 0 ] || fail "analyzer exit $rc on a SIGKILLed trace, want 0: $(tail -3 "$tmp/k.json.err")"
pycheck "$tmp/k.json" $N <<'PY' || exit 1
r = load(sys.argv[1]); N = int(sys.argv[2])
c = ops(r).get(("dgemm", "cblas"), 0)
if c < N:
    print("calls after SIGKILL: %d, want >= %d (all made before ready)" % (c, N)); sys.exit(1)
eq("calls after SIGKILL (no call is made after ready)", c, N)
eq("shapes", shapes(r), {("dgemm", "cblas", "N", "N", 8, 8, 8): N})
PY
echo "SIGKILL: all $N calls made before the kill read back"
