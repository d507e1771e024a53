#!/usr/bin/env bash
# Fake RAPL counter with a 4 J range: wraps during the run; per-region
# energy must still match the profile (see test_energy_rapl.sh).
GS_ENERGY_CASE=wrap exec "$(dirname "$0")/test_energy_rapl.sh" "$@"
