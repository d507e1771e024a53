#!/usr/bin/env bash
# house: the analyzer's files call one way (tests/house/check_layers.sh on
# the built objects: util/ < read/ < stages/ < report/ < render/ < cmd/ and
# main.c; no call from a lower folder into a higher one, no circle between
# files).  Exit 0 pass, 1 fail, 77 skip (no nm).
. "$(dirname "$0")/lib/common.sh"
command -v nm >/dev/null || skip "nm (binutils) not installed"
[ -d "$root/build/obj/analyzer" ] || skip "no analyzer objects (make all first)"
"$root/tests/house/check_layers.sh" "$root/build/obj/analyzer" || fail "the analyzer's files call against the house's order (see above)"
echo "house: analyzer files call one way"
