#!/usr/bin/env bash
# energy_uj exists but is not readable (EACCES): one greenshim line, and the
# run falls back to the modelled energy (see test_energy_rapl.sh).
GS_ENERGY_CASE=unreadable exec "$(dirname "$0")/test_energy_rapl.sh" "$@"
