#!/usr/bin/env bash
# The shell lock idiom under the shim: `exec 200>lock; echo locked >&200`
# (and flock on that descriptor) must act on the shell's file, never on the
# trace: the lock file gets its line, the trace stays a clean trace.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"
cd "$tmp"
# the words come from the environment so that the command line (in the
# trace header) does not hold them
export W1=locked W2=two W3=held
record "$tmp/t" bash -c 'exec 200>lock; echo $W1 >&200; exec 201>lock2; echo $W2 >&201; exec 200>&-; exec 201>&-' ||
    fail "the lock idiom failed under the shim"
[ "$(cat lock)" = locked ] || fail "lock file holds '$(head -c 80 lock | tr -d '\0')', want 'locked'"
[ "$(cat lock2)" = two ] || fail "second lock file holds '$(head -c 80 lock2 | tr -d '\0')', want 'two'"
if command -v flock >/dev/null; then
    record "$tmp/t2" bash -c 'exec 200>lock3; flock 200 && echo $W3 >&200' || fail "flock idiom failed under the shim"
    [ "$(cat lock3)" = held ] || fail "flock file holds '$(head -c 80 lock3 | tr -d '\0')', want 'held'"
fi
for f in "$tmp"/t/*.gstrace "$tmp"/t2/*.gstrace; do
    [ -e "$f" ] || continue
    grep -qa "locked\|held" "$f" && fail "the shell's text landed in the trace $f"
    "$ana" info "$f" >/dev/null 2>"$tmp/info.err" || fail "trace $f unreadable: $(cat "$tmp/info.err")"
done
echo "exec 200>lock; echo locked >&200: the lock file holds its line, the trace none of it"
