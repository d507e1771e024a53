#!/usr/bin/env bash
# Layer detection without markup on Debian's PyTorch: the MLP of
# examples/torch_mlp.py (64→128→64→10) gives exactly its three Linear
# layers, with 2 GEMMs a step for the first (no input gradient) and 3 for
# the others, and the step count as iterations.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "python3-torch not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
STEPS=12
GREENSHIM_QUIET=1 LD_PRELOAD="$root/build/libgreenshim.so" GREENSHIM_OUT="$tmp/t" \
    /usr/bin/python3 "$root/examples/torch_mlp.py" --steps $STEPS >/dev/null || exit 1
"$root/build/greenshim-analyze" report "$tmp/t" --format json >"$tmp/r.json" || exit 1
/usr/bin/python3 - "$tmp/r.json" $STEPS <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1])); steps = int(sys.argv[2])
lay = {l["name"]: l["calls"] for l in r["layers"]}
want = {"linear 64\u2192128": 2 * steps, "linear 128\u219264": 3 * steps, "linear 64\u219210": 3 * steps}
assert lay == want, (lay, want)
assert r["layers_from"] == "detected", r["layers_from"]
assert r["iterations"] == steps, r["iterations"]
assert r["energy"]["provenance"] == "modelled" or r["energy"]["provenance"] == "measured"
assert r["energy"]["reconciled"] is True
tot = sum(l["energy_j"] for l in r["layers"]) + r["outside"]["energy_j"]
assert abs(tot - r["energy"]["total_j"]) <= 1e-6 * max(1, r["energy"]["total_j"]), (tot, r["energy"]["total_j"])
PY
echo "PyTorch MLP: 3 layers detected one to one, $STEPS iterations, energy reconciles"
