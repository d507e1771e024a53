#!/usr/bin/env bash
# GREENSHIM=0: the recorder is off: no trace file is written and the
# program's output is identical.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$build/examples/blas_mix" "$build/examples/mlp_train"

for prog in "blas_mix" "mlp_train --steps 30 --batch 32"; do
    plain=$("$build/examples/"$prog 2>"$tmp/e1") || fail "$prog failed"
    off=$(GREENSHIM=0 LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/off" "$build/examples/"$prog 2>"$tmp/e2") \
        || fail "$prog failed with GREENSHIM=0"
    [ "$plain" = "$off" ] || fail "$prog: output changed with GREENSHIM=0: '$plain' vs '$off'"
    if [ -e "$tmp/off" ] && [ -n "$(ls -A "$tmp/off")" ]; then
        fail "$prog: GREENSHIM=0 still wrote: $(ls "$tmp/off")"
    fi
done
echo "GREENSHIM=0: no trace, identical output"
