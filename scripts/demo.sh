#!/bin/sh
# demo.sh - run the bundled MLP trainer under the recorder and print the
# analysis (what `make demo` does after building).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/greenshim-demo.XXXXXX")
echo "== training examples/mlp_train.c under greenshim (traces in $out)"
build/greenshim record -o "$out" -- build/examples/mlp_train --steps 200
echo
echo "== greenshim report $out"
build/greenshim report "$out"
