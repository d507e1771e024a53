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
    report_json "$1" "$1.json" || true
    "$py" "$root/tests/e2e/lib/lost_json.py" "$1.json" "$(echo "$sum" | sed -n 's/.*lost_calls=\([0-9]*\).*/\1/p')" "size cap" || fail "$2: the report does not say that calls were lost: $(head -c 600 "$1.json")"
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
echo "1 MiB cap: file within the cap, recorded + lost = $N calls exactly, clean END"
