#!/bin/sh
# demo.sh - run the bundled MLP trainer under the recorder and print the
# analysis (what `make demo` does after building).  Works in the source tree
# (build/) and in an installed copy (PREFIX/share/greenshim/scripts/demo.sh,
# with PREFIX/bin/greenshim and PREFIX/share/greenshim/examples/).
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
if [ -x "$here/../../../bin/greenshim" ] && [ -x "$here/../examples/mlp_train" ]; then
    gs=$here/../../../bin/greenshim
    trainer=$here/../examples/mlp_train
else
    gs=$here/../build/greenshim
    trainer=$here/../build/examples/mlp_train
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/greenshim-demo.XXXXXX")
echo "== training examples/mlp_train.c under greenshim (traces in $out)"
"$gs" record -o "$out" --append -- "$trainer" --steps 200
echo
echo "== greenshim report $out"
"$gs" report "$out"
