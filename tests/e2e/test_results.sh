#!/usr/bin/env bash
# The recorder never changes results: the numeric output of the C trainer,
# blas_mix (4 threads, both APIs, ten routines) and, where installed, the
# numpy and torch examples is bit-identical with and without the shim
# (checksums are printed with %a / repr).  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$build/examples/blas_mix" "$build/examples/mlp_train"

same() {   # name cmd...
    local name=$1
    shift
    local plain traced
    plain=$("$@") || fail "$name failed"
    traced=$(record "$tmp/$name" "$@") || fail "$name failed under the shim"
    [ "$plain" = "$traced" ] || { echo "$name: output differs under the shim:";
        diff <(echo "$plain") <(echo "$traced") | head -10; exit 1; }
    [ -n "$(ls "$tmp/$name"/*.gstrace 2>/dev/null)" ] || fail "$name: no trace written"
    echo "$name: identical ($(echo "$plain" | tail -1))"
}
same mlp_train "$build/examples/mlp_train" --steps 200 --batch 64 --print-every 20
same mlp_regions "$build/examples/mlp_train" --steps 50 --batch 64 --regions
same blas_mix "$build/examples/blas_mix"
if "$py" -c 'import numpy' 2>/dev/null; then
    same numpy "$py" examples/numpy_matmul.py
else
    echo "numpy not installed: numpy example not compared"
fi
if "$py" -c 'import torch' 2>/dev/null; then
    same torch "$py" examples/torch_mlp.py --steps 5 --annotate
fi
