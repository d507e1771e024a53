#!/usr/bin/env bash
# A full file system: the trace directory on a 2 MiB tmpfs (a private mount
# namespace), 300,000 tiny calls (4.8 MB of records at 16 bytes a call).  The program ends
# normally and at full speed (the recorder backs off instead of retrying a
# chunk on every call); every call is recorded or counted in a LOST record
# (reason 1, no space) exactly; the END is there; the report says so.
# Skipped where mount namespaces are not allowed.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/bench/tiny_gemm"
N=300000
unshare -m true 2>/dev/null || skip "mount namespaces not allowed here (unshare -m failed): full file system not tested"
mkdir -p "$tmp/fs"
unshare -m bash -c '
    mount -t tmpfs -o size=2m tmpfs "$1" || exit 77
    GREENSHIM_EVENTS=none GREENSHIM_OUT="$1/t" LD_PRELOAD="$2" "$3" '$N' 1 >"$4/out" 2>"$4/err" || { echo "program exit $?"; exit 1; }
    f=$(ls "$1"/t/*.gstrace) || { echo "no trace"; exit 1; }
    "$5" dump "$f" >"$4/dump" || { echo "dump failed"; exit 1; }
    "$5" report "$1/t" --format json >"$4/r.json" 2>"$4/r.err"
    "$5" report "$1/t" >"$4/r.txt" 2>&1
    df -k "$1" | tail -1 >"$4/df"
' sh "$tmp/fs" "$lib" "$build/bench/tiny_gemm" "$tmp" "$ana"
rc=$?
[ $rc = 77 ] && skip "cannot mount a tmpfs in a private namespace here"
[ $rc = 0 ] || fail "run on a full tmpfs: $(cat "$tmp/err" 2>/dev/null)"
sum=$("$py" "$root/tests/e2e/lib/lost.py" <"$tmp/dump") || fail "$sum"
echo "2 MiB tmpfs: $sum; $(cat "$tmp/df")"
"$py" - "$sum" $N <<'PY' || exit 1
import sys
d = dict(kv.split("=") for kv in sys.argv[1].split())
n = int(sys.argv[2])
calls, lost = int(d["calls"]), int(d["lost_calls"])
if calls + lost != n or calls == 0 or lost == 0:
    sys.exit("recorded %d + lost %d calls, want %d in all, some of each" % (calls, lost, n))
if d["ends"] != "1" or d["reasons"] != "1":
    sys.exit("want one END and LOST reason 1 (no space), got %s" % sys.argv[1])
PY
lostn=$(echo "$sum" | sed 's/.*lost_calls=\([0-9]*\).*/\1/')
check_lost "$tmp/r.json" "$tmp/r.txt" "$lostn" "no space" || fail "the report does not tell the loss"
grep -q '"clean_exit": true' "$tmp/r.json" || fail "the process did not end cleanly"
echo "full tmpfs: recorded + lost = $N calls exactly, LOST reason 1, clean END"
