#!/usr/bin/env bash
# The size cap: GREENSHIM_MAX_MB=1 (and `greenshim record --max-size 1`) on
# 100,000 tiny calls (4.8 MB of records): the file stays within 1 MiB, the
# program ends normally, every call is either recorded or counted in a LOST
# record (reason 2, the cap) - exactly, per thread - and the END is there.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/bench/tiny_gemm" "$build/greenshim"
N=100000
check() {   # dir label
    local f sum size
    f=$(ls "$1"/*.gstrace) || fail "$2: no trace"
    size=$(stat -c %s "$f")
    [ "$size" -le 1048576 ] || fail "$2: trace is $size bytes, over the 1 MiB cap"
    sum=$("$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py") || fail "$sum"
    echo "$2: $sum, file $size bytes"
    "$py" - "$sum" $N "$2" <<'PY' || exit 1
import sys
d = dict(kv.split("=") for kv in sys.argv[1].split())
n, label = int(sys.argv[2]), sys.argv[3]
calls, lost = int(d["calls"]), int(d["lost_calls"])
if calls + lost != n or calls == 0 or lost == 0:
    sys.exit("%s: recorded %d + lost %d calls, want %d in all, some of each" % (label, calls, lost, n))
if d["ends"] != "1" or d["reasons"] != "2":
    sys.exit("%s: want one END and LOST reason 2 (the cap), got %s" % (label, sys.argv[1]))
if int(d["lost_records"]) < lost:
    sys.exit("%s: %d lost records for %d lost calls" % (label, int(d["lost_records"]), lost))
PY
    report_json "$1" "$1.json" || fail "$2: analyzer exit $?: $(tail -3 "$1.json.err")"
    "$ana" report "$1" >"$1.txt" 2>&1 || fail "$2: text report failed"
    lostn=$(echo "$sum" | sed 's/.*lost_calls=\([0-9]*\).*/\1/')
    check_lost "$1.json" "$1.txt" "$lostn" "size cap" || fail "$2: the report does not tell the loss"
    grep -q '"clean_exit": true' "$1.json" || fail "$2: the process did not end cleanly"
}
GREENSHIM_EVENTS=none GREENSHIM_MAX_MB=1 record "$tmp/a" "$build/bench/tiny_gemm" $N 1 >/dev/null ||
    fail "tiny_gemm failed under a 1 MiB cap"
check "$tmp/a" "GREENSHIM_MAX_MB=1"
"$build/greenshim" record -q --max-size 1 -e none -o "$tmp/b" -- "$build/bench/tiny_gemm" $N 1 >/dev/null ||
    fail "greenshim record --max-size 1 failed"
check "$tmp/b" "record --max-size 1"
GREENSHIM_QUIET=0 GREENSHIM_MAX_MB=abc record "$tmp/c" "$build/bench/tiny_gemm" 10 1 >/dev/null 2>"$tmp/c.err" ||
    fail "tiny_gemm failed with GREENSHIM_MAX_MB=abc"
grep -q "GREENSHIM_MAX_MB=abc" "$tmp/c.err" || fail "GREENSHIM_MAX_MB=abc not named in a message: $(cat "$tmp/c.err")"
# threads: 8 x 20,000 dgemm with default counters (a counted call takes 2
# slots): recorded + lost exact over all threads, each thread's own LOST
T=8 A=20000
GREENSHIM_MAX_MB=1 record "$tmp/m" "$build/examples/blas_mix" --threads $T --dgemm $A --fgemm 0 --sgemv 0 --no-singles \
    >/dev/null || fail "blas_mix --threads $T failed under a 1 MiB cap"
f=$(ls "$tmp"/m/*.gstrace) || fail "threads: no trace"
sum=$("$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py") || fail "$sum"
echo "threads: $sum"
"$py" - "$sum" $((T * A)) $T <<'PY' || exit 1
import sys
d = dict(kv.split("=") for kv in sys.argv[1].split())
n, t = int(sys.argv[2]), int(sys.argv[3])
if int(d["calls"]) + int(d["lost_calls"]) != n:
    sys.exit("threads: recorded %s + lost %s calls, want %d" % (d["calls"], d["lost_calls"], n))
if int(d["lost_tids"]) < t or d["ends"] != "1":
    sys.exit("threads: want a LOST record of each of the %d threads and one END: %s" % (t, sys.argv[1]))
PY
echo "1 MiB cap: file within the cap, recorded + lost = $N calls exactly, clean END"
