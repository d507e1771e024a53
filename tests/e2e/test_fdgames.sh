#!/usr/bin/env bash
# Descriptor games: a program closes every descriptor (close-all), opens 250
# files (numbers 3..252) and dup2s one onto 255, then keeps calling BLAS
# while writing its files.  Under the shim, with and without counters: its
# files hold exactly what it wrote, and every one of its calls is in the
# trace (the recorder keeps no descriptor between chunks).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
gcc -O2 "$root/tests/e2e/src/fdgames.c" -o "$tmp/fdgames" -lopenblas || fail "cannot build fdgames.c"
N=40000     # several chunks after the close-all
for events in none default; do
    d=$tmp/$events
    mkdir -p "$d/files"
    if [ $events = none ]; then ev=none; else ev=; fi
    out=$(GREENSHIM_EVENTS=$ev record "$d/t" "$tmp/fdgames" "$d/files" $N 2>"$d/err") ||
        fail "counters $events: fdgames under the shim: $out $(tail -3 "$d/err")"
    [ "$out" = "files intact" ] || fail "counters $events: $out"
    while read -r name size; do
        got=$(stat -c %s "$d/files/$name")
        [ "$got" = "$size" ] || fail "counters $events: after exit, $name has $got bytes, want $size"
    done <"$d/files/sizes"
    f=$(ls "$d"/t/*.gstrace) || fail "no trace"
    grep -l "GRNSHIM" "$d"/files/* 2>/dev/null && fail "counters $events: trace data in the program's files"
    sum=$("$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py") || fail "$sum"
    echo "counters $events: $sum"
    case "$sum" in
        "calls=$N lost_calls=0 lost_records=0 ends=1 "*) ;;
        *) fail "counters $events: want every one of $N calls and one END, got $sum" ;;
    esac
done
echo "close-all + 250 files + dup2 onto 255: files intact, all $N calls recorded, with and without counters"
