#!/usr/bin/env bash
# Trace files are 0600 and the directories the recorder makes 0700 whatever
# the umask (traces hold command lines, tokens included), as perf.data:
# umask 000 with the default directory and with GREENSHIM_OUT a/b/c, and a
# umask that would leave the file unwritable (0277) still gives a whole trace.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/bench/tiny_gemm"
mode() { stat -c %a "$1"; }
mkdir -p "$tmp/w"
(cd "$tmp/w" && umask 000 && LD_PRELOAD="$lib" "$build/bench/tiny_gemm" 100 1 >/dev/null) ||
    fail "tiny_gemm failed under the shim"
d=$(ls -d "$tmp"/w/greenshim-*) || fail "no default directory in $tmp/w"
[ "$(mode "$d")" = 700 ] || fail "umask 000: default directory mode $(mode "$d"), want 700"
for f in "$d"/*.gstrace; do
    [ "$(mode "$f")" = 600 ] || fail "umask 000: trace file mode $(mode "$f"), want 600"
done
(umask 000 && record "$tmp/o/a/b" "$build/bench/tiny_gemm" 100 1 >/dev/null) || fail "tiny_gemm failed"
for x in "$tmp/o" "$tmp/o/a" "$tmp/o/a/b"; do
    [ "$(mode "$x")" = 700 ] || fail "umask 000: made directory $x mode $(mode "$x"), want 700"
done
for f in "$tmp"/o/a/b/*.gstrace; do
    [ "$(mode "$f")" = 600 ] || fail "umask 000: trace file mode $(mode "$f"), want 600"
done
(umask 0277 && record "$tmp/r" "$build/bench/tiny_gemm" 20000 1 >/dev/null) || fail "tiny_gemm failed"
f=$(ls "$tmp"/r/*.gstrace) || fail "umask 0277: no trace"
[ "$(mode "$f")" = 600 ] || fail "umask 0277: trace file mode $(mode "$f"), want 600"
sum=$("$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py") || fail "$sum"
case "$sum" in
    "calls=20000 lost_calls=0 lost_records=0 ends=1 "*) ;;
    *) fail "umask 0277: want 20000 calls and an END, got $sum" ;;
esac
echo "umask 000 and 0277: directories 0700, trace files 0600, traces whole"
