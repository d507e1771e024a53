#!/usr/bin/env bash
# The run's stderr lines (issue 22 item 8):
#  - the end-of-run summary counts every intercepted call the report counts,
#    oneDNN primitives included (PyTorch CNN: convolutions in oneDNN);
#  - after Ctrl-C (SIGINT to the foreground group) `greenshim record` still
#    prints the summary line, counted from the traces, for a C program
#    (SIGINT's default action) and for Python (KeyboardInterrupt, whose exit
#    re-raises SIGINT), and the exit status stays the command's (130);
#  - a second run put by hand (LD_PRELOAD) into a directory that holds a run
#    is warned about once; GREENSHIM_APPEND=1 and `greenshim record
#    --append` say nothing.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/examples/mlp_train"
unset GREENSHIM_QUIET
gs=$build/greenshim
mlp=$build/examples/mlp_train

summary_calls() { sed -n 's/^greenshim: traces in .*: [0-9]* process[es]*[^,]*, \([0-9]*\) calls.*/\1/p' "$1"; }
report_calls() { "$ana" report "$1" --format json 2>/dev/null | sed -n 's/^  "calls": \([0-9]*\),$/\1/p'; }

# 1. oneDNN calls in the summary
if "$py" -c 'import torch; assert torch.backends.mkldnn.is_available()' 2>/dev/null; then
    "$gs" record -o "$tmp/cnn" -- "$py" examples/torch_cnn.py --steps 2 --quiet 2>"$tmp/cnn.err" || fail "torch_cnn failed: $(tail -3 "$tmp/cnn.err")"
    s=$(summary_calls "$tmp/cnn.err"); r=$(report_calls "$tmp/cnn")
    [ -n "$s" ] && [ "$s" = "$r" ] || fail "oneDNN run: the summary says '$s' calls, the report $r: $(grep 'traces in' "$tmp/cnn.err")"
    "$ana" report "$tmp/cnn" --format json | grep -q '"api": "dnnl"' || fail "oneDNN run: no dnnl routine in the report"
    echo "oneDNN: summary and report agree on $s calls"
else
    echo "python3-torch with oneDNN not installed: the oneDNN count is not checked"
fi

# 2. Ctrl-C
cat >"$tmp/ctrlc.py" <<'PY'
import os, signal, subprocess, sys, time
p = subprocess.Popen(sys.argv[3:], stderr=open(sys.argv[2], "w"),
                     preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL), os.setpgrp()))
time.sleep(float(sys.argv[1]))
os.killpg(p.pid, signal.SIGINT)          # what a terminal's Ctrl-C does: the whole foreground group
print(p.wait())
PY
# wait until the run has recorded calls, then interrupt (a loaded machine may start slowly)
for c in c py; do
    if [ $c = c ]; then set -- "$mlp" --steps 1000000 --quiet
    else set -- "$py" -c 'import numpy as np
a = np.ones((64, 64))
while True:
    a = a @ a; a /= a.max()'
    fi
    "$py" -c 'import numpy' 2>/dev/null || { [ $c = py ] && { echo "numpy missing: the Python Ctrl-C case is left out"; continue; }; }
    rc=$("$py" "$tmp/ctrlc.py" 3 "$tmp/int_$c.err" "$gs" record -o "$tmp/int_$c" -- "$@") || fail "$c: the driver failed"
    [ "$rc" = 130 ] || fail "$c: Ctrl-C: exit status $rc, want the command's 130"
    s=$(summary_calls "$tmp/int_$c.err"); r=$(report_calls "$tmp/int_$c")
    [ -n "$s" ] || fail "$c: no summary line after Ctrl-C: $(cat "$tmp/int_$c.err")"
    [ "$s" = "$r" ] || fail "$c: after Ctrl-C the summary says $s calls, the report $r"
    grep -q "ended by SIGINT" "$tmp/int_$c.err" || fail "$c: the summary does not say the command ended by SIGINT"
    [ "$(grep -c 'traces in' "$tmp/int_$c.err")" = 1 ] || fail "$c: more than one summary line: $(grep 'traces in' "$tmp/int_$c.err")"
    echo "Ctrl-C ($c): summary line with $s calls"
done
# a clean end still gives exactly one summary, the recorder's own
"$gs" record -o "$tmp/clean" -- "$mlp" --steps 5 --quiet 2>"$tmp/clean.err" || fail "mlp_train failed"
[ "$(grep -c 'traces in' "$tmp/clean.err")" = 1 ] || fail "clean run: want one summary line: $(cat "$tmp/clean.err")"
grep -q "ended by" "$tmp/clean.err" && fail "clean run: said to have ended by a signal"

# 3. a second run into the same directory by hand
LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/mix" "$mlp" --steps 5 --quiet 2>"$tmp/mix1.err" || fail "run 1 failed"
grep -q "already holds" "$tmp/mix1.err" && fail "first run into a fresh directory warned: $(grep already "$tmp/mix1.err")"
LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/mix" "$mlp" --steps 5 --quiet 2>"$tmp/mix2.err" || fail "run 2 failed"
[ "$(grep -c "^greenshim: $tmp/mix already holds 1 other run: this run (id [0-9a-f]*) is added next to it, kept apart" "$tmp/mix2.err")" = 1 ] ||
    fail "second run by hand: want one warning: $(cat "$tmp/mix2.err")"
GREENSHIM_APPEND=1 LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/mix" "$mlp" --steps 5 --quiet 2>"$tmp/mix3.err" || fail "run 3 failed"
grep -q "already holds" "$tmp/mix3.err" && fail "GREENSHIM_APPEND=1 still warned"
"$gs" record --append -o "$tmp/mix" -- "$mlp" --steps 5 --quiet 2>"$tmp/mix4.err" || fail "record --append failed"
grep -q "already holds" "$tmp/mix4.err" && fail "record --append warned"
"$ana" report "$tmp/mix" >/dev/null 2>&1 && fail "the analyzer reported 4 runs as one without --merge-runs"
echo "summary lines: oneDNN counted, Ctrl-C summed up, a second run by hand warned once"
