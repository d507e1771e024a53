#!/usr/bin/env bash
# Region energy exact at the boundaries at the sampler's default rate:
# 20 W / 65 W phases of 100 ms with 5 W between, every phase within 2%,
# with the counter far from its wrap and across wraps (8 J range); see
# test_energy_rapl.sh (cases phases100, phases100wrap).
set -u
d=$(dirname "$0")
GS_ENERGY_CASE=phases100 "$d/test_energy_rapl.sh" "$@" || exit $?
GS_ENERGY_CASE=phases100wrap "$d/test_energy_rapl.sh" "$@"
