#!/usr/bin/env bash
# greenshim never breaks the user's profiler: with the recorder holding CUPTI
# (taken at the driver's injection call), a second CUPTI client in the
# process (tests/e2e/src/gpu_profiler.c, what torch.profiler's Kineto does)
# subscribes, registers its buffers, enables kernel activity and uses CUSTOM0
# external correlation exactly as it would alone: the recorder gives CUPTI
# up and says so in one line.  Through the fake CUPTI of tests/fakes (the
# real one needs a GPU driver), which refuses a second subscriber (39) as
# the real one does.  GREENSHIM_CUPTI=0: the recorder never takes it.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/cupti.h ] || skip "no CUPTI headers in /usr/local/cuda"
fk=$build/fakes/cupti
need "$lib" "$fk/libcupti.so.13"
gcc -std=gnu11 -O1 -I/usr/local/cuda/include "$root/tests/e2e/src/gpu_profiler.c" -o "$tmp/prof" \
    "$fk/libcupti.so.13" -Wl,-rpath,"$fk" -ldl || fail "build"
want="subscribe 0 buffers 0 enable 0 ext 0/0/42
subscriber=program buffers=program timestamps=cupti kernel_activity=1 refused=0"
plain=$(PLAY_INJECTION=1 "$tmp/prof") || fail "profiler failed alone"
[ "$plain" = "$want" ] || fail "the fake profiler alone: $plain"
traced=$(PLAY_INJECTION=1 GREENSHIM_QUIET=0 record "$tmp/run" "$tmp/prof" 2>"$tmp/err") || fail "profiler failed under the shim"
[ "$traced" = "$want" ] || { cat "$tmp/err"; fail "the profiler under the recorder got: $traced"; }
grep -q "another CUPTI client in this process (cuptiSubscribe: .*greenshim gave it up" "$tmp/err" \
    || { cat "$tmp/err"; fail "no line saying greenshim gave CUPTI up"; }
[ "$(grep -c 'gave it up' "$tmp/err")" = 1 ] || fail "said more than once"
off=$(PLAY_INJECTION=1 GREENSHIM_CUPTI=0 GREENSHIM_QUIET=0 record "$tmp/off" "$tmp/prof" 2>"$tmp/err0") || fail "failed with GREENSHIM_CUPTI=0"
[ "$off" = "$want" ] || fail "GREENSHIM_CUPTI=0: $off"
! grep -q "gave it up" "$tmp/err0" || fail "GREENSHIM_CUPTI=0 still took CUPTI"
echo "the user's CUPTI client works under the recorder (yielded once); GREENSHIM_CUPTI=0 leaves CUPTI alone"
