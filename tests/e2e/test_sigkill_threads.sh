#!/usr/bin/env bash
# SIGKILL at random moments of a 4-thread run (5 kills, 0.1-0.9 s in):
# chunks are prepared while the threads record, and a kill in the middle of
# a preparation must still leave a whole trace (the file grows by whole
# chunks): the analyzer reads every kill's trace with exit 0, no damage, and
# the calls it finds are whole dgemm records of the one shape.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"
for i in 1 2 3 4 5; do
    d=$tmp/k$i
    LD_PRELOAD="$lib" GREENSHIM_OUT="$d" "$build/examples/blas_mix" --threads 4 --dgemm 400000 --fgemm 0 \
        --sgemv 0 --no-singles >/dev/null 2>&1 &
    pid=$!      # the program itself (a shell function in the background would take the kill)
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    ls "$d"/*.gstrace >/dev/null 2>&1 || continue      # killed before its first call
    report_json "$d" "$d.json"
    rc=$?
    [ $rc = 0 ] || fail "kill $i: analyzer exit $rc: $(tail -3 "$d.json.err")"
    grep -qi "truncated\|corrupt" "$d.json" "$d.json.err" && fail "kill $i: damage reported: $(grep -hi 'truncated\|corrupt' "$d.json" "$d.json.err" | head -2)"
    pycheck "$d.json" <<'PY' || exit 1
r = load(sys.argv[1])
s = shapes(r)
if any(k[:2] != ("dgemm", "cblas") or k[4:] != (32, 24, 16) for k in s):
    print("unexpected shapes after a kill: %r" % s); sys.exit(1)
PY
    echo "kill $i: $(grep -o '"calls": [0-9]*' "$d.json" | head -1)"
done
echo "5 SIGKILLs of a 4-thread run: every trace whole and readable"
