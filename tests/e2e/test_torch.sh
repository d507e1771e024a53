#!/usr/bin/env bash
# PyTorch (Debian's torch 1.13, CPU) under the recorder: examples/torch_mlp.py
# (64->128->64->10) makes 8 Fortran sgemm_ calls per training step with the
# shapes documented in the script; with --annotate (python/greenshim.py)
# every Linear layer is a region carrying its calls: "fcI" its forward GEMM,
# "fcI.backward" its weight-gradient GEMM and (fc2, fc3) its input-gradient
# GEMM; the layers are those region paths.  Results are unchanged.
# Exit 0 pass, 1 fail, 77 skip (torch missing).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c 'import torch' 2>/dev/null || skip "torch is not installed for $py (apt-get install python3-torch)"
N=6

plain=$("$py" examples/torch_mlp.py --steps $N) || fail "torch_mlp.py failed"
traced=$(record "$tmp/t" "$py" examples/torch_mlp.py --steps $N) || fail "torch_mlp.py failed under the shim"
[ "$plain" = "$traced" ] || fail "result changed under the shim: '$plain' vs '$traced'"
report_json "$tmp/t" "$tmp/t.json" || fail "analyzer exit $?: $(tail -3 "$tmp/t.json.err")"
pycheck "$tmp/t.json" $N <<'PY' || exit 1
r = load(sys.argv[1]); N = int(sys.argv[2]); B = 32
eq("calls per (op, api)", ops(r), {("sgemm", "fortran"): 8 * N})
eq("shapes", shapes(r), {
    ("sgemm", "fortran", "T", "N", 128, B, 64): N,   # fc1 forward
    ("sgemm", "fortran", "T", "N", 64, B, 128): N,   # fc2 forward
    ("sgemm", "fortran", "T", "N", 10, B, 64): N,    # fc3 forward
    ("sgemm", "fortran", "N", "N", 64, B, 10): N,    # fc3 grad input
    ("sgemm", "fortran", "N", "T", 64, 10, B): N,    # fc3 grad weight
    ("sgemm", "fortran", "N", "N", 128, B, 64): N,   # fc2 grad input
    ("sgemm", "fortran", "N", "T", 128, 64, B): N,   # fc2 grad weight
    ("sgemm", "fortran", "N", "T", 64, 128, B): N})  # fc1 grad weight
PY

annotated=$(record "$tmp/a" "$py" examples/torch_mlp.py --steps $N --annotate) \
    || fail "torch_mlp.py --annotate failed under the shim"
[ "$plain" = "$annotated" ] || fail "result changed by --annotate: '$plain' vs '$annotated'"
report_json "$tmp/a" "$tmp/a.json" || fail "analyzer exit $? (--annotate): $(tail -3 "$tmp/a.json.err")"
pycheck "$tmp/a.json" $N <<'PY' || exit 1
r = load(sys.argv[1]); N = int(sys.argv[2])
eq("calls per (op, api)", ops(r), {("sgemm", "fortran"): 8 * N})
want = {"fc1:Linear": N, "fc1:Linear.backward": N, "fc2:Linear": N, "fc2:Linear.backward": 2 * N,
        "fc3:Linear": N, "fc3:Linear.backward": 2 * N}
got = {x["name"]: x["calls"] for x in r["regions"] if x["calls"]}
eq("region calls", got, want)
# layers: the module's name, then what detection found in it
lay = {x["name"]: x["calls"] for x in r["layers"] if x["calls"]}
eq("layer calls", lay, {"fc1:Linear linear 64\u2192128": 2 * N, "fc2:Linear linear 128\u219264": 3 * N,
                        "fc3:Linear linear 64\u219210": 3 * N})
eq("iterations with regions", r["iterations"], N)
PY
echo "torch: 8 sgemm_ a step exact; annotate names fc1:Linear..fc3:Linear forward and backward; layers keep detection"
