#!/usr/bin/env bash
# A descriptor storm (issue 21.2): the main thread dup2s its files onto every
# descriptor number 0..1023 in a loop, writing through each number at once,
# while a second thread makes N tiny calls (its first call starts the
# recorder mid-storm).  Under load (two busy loops of this test), RUNS runs
# alternating counters off and default: every run has 0 failed writes of the
# program (no EBADF, every file exactly what was written through it) and
# every call in the trace (0 lost) with one END.  FDSTORM_RUNS sets RUNS
# (default 16).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
gcc -O2 -pthread "$root/tests/e2e/src/fdstorm.c" -o "$tmp/fdstorm" -lopenblas || fail "cannot build fdstorm.c"
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1100 ] || skip "hard descriptor limit $(ulimit -Hn) below 1100"
N=${FDSTORM_CALLS:-200000}
RUNS=${FDSTORM_RUNS:-16}
hogs=
for _ in 1 2; do
    ( while :; do :; done ) &
    hogs="$hogs $!"
done
trap 'for p in $hogs; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
bad=0
for r in $(seq "$RUNS"); do
    d=$tmp/r$r
    mkdir -p "$d/files"
    if [ $((r % 2)) = 0 ]; then ev=none; else ev=; fi
    out=$(GREENSHIM_EVENTS=$ev OPENBLAS_NUM_THREADS=1 record "$d/t" "$tmp/fdstorm" "$d/files" $N 2>"$d/err")
    rc=$?
    f=$(ls "$d"/t/*.gstrace 2>/dev/null)
    sum=$([ -n "$f" ] && "$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py")
    echo "run $r (events ${ev:-default}): exit $rc, $out; $sum"
    case "$rc/$out/$sum" in
        "0/writes="*" failures=0/calls=$N lost_calls=0 lost_records=0 ends=1 "*) ;;
        *) bad=$((bad + 1)) ;;
    esac
    rm -rf "$d"
done
[ $bad = 0 ] || fail "$bad of $RUNS runs lost calls or harmed the program's descriptors"
echo "descriptor storm: $RUNS of $RUNS runs under load with 0 failed writes and all $N calls recorded"
