#!/usr/bin/env bash
# golden: every verb and format of the analyzer on the committed test traces
# (tests/golden/golden.sh: 650-odd cases, each output's bytes and exit status
# hashed in tests/golden/expected.txt) gives the same bytes as when the
# expected file was written.  A change of any output fails here; a change
# meant as one is written with `tests/golden/golden.sh --update` and said in
# its commit.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$ana"
"$root/tests/golden/golden.sh" --analyzer "$ana" || fail "analyzer outputs changed (see above)"
