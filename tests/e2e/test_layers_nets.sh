#!/usr/bin/env bash
# Layer detection on Debian's PyTorch (column-major sgemm_) and on a program
# that is no network:
#   small            20 -> 50 -> 3, batch 256: the widths, not the batch
#   small --regions  the same inside region("train_step"), with an eval pass
#                    (no_grad, 1000 samples) in region("eval") every 5th step:
#                    detection stays on inside regions, evals fold into the
#                    layers, region rows count per training iteration
#   two --regions    two models one after the other (A 20->50->3 for N steps,
#                    B 32->16->4 for 2N): each layer keeps its model's count
#   numpy_threads    two threads squaring their own 96x96 matrix: no "linear"
# Exit 0 pass, 1 fail, 77 skip (torch or numpy missing).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c 'import torch' 2>/dev/null || skip "python3-torch is not installed"
N=10
record "$tmp/s" "$py" examples/torch_nets.py small --steps $N >/dev/null || fail "torch_nets.py small failed"
record "$tmp/sr" "$py" examples/torch_nets.py small --steps $N --regions >/dev/null || fail "torch_nets.py small --regions failed"
record "$tmp/t" "$py" examples/torch_nets.py two --steps $N --regions >/dev/null || fail "torch_nets.py two failed"
record "$tmp/np" "$py" examples/numpy_threads.py --threads 2 --n 96 --reps 20 >/dev/null || fail "numpy_threads.py failed"
for x in s sr t np; do
    report_json "$tmp/$x" "$tmp/$x.json" || fail "analyzer exit $? on $x: $(tail -3 "$tmp/$x.json.err")"
done
pycheck "$tmp/s.json" "$tmp/sr.json" "$tmp/t.json" "$tmp/np.json" $N <<'PY' || exit 1
s, sr, t, np_ = (load(p) for p in sys.argv[1:5]); N = int(sys.argv[5])
A = "\u2192"
def lay(r): return {l["name"]: l["calls"] for l in r["layers"] if l["calls"]}
def its(r): return {l["name"]: l["iterations"] for l in r["layers"]}
# the first layer: forward + weight gradient; the second also its input gradient
eq("small layers", lay(s), {"linear 20%s50" % A: 2 * N, "linear 50%s3" % A: 3 * N})
eq("small iterations", s["iterations"], N)
ev = N // 5
eq("regions: layers", lay(sr), {"linear 20%s50" % A: 2 * N + ev, "linear 50%s3" % A: 3 * N + ev})
eq("regions: iterations", sr["iterations"], N)
eq("regions: region rows per training iteration", {k: v for k, v in its(sr).items() if not k.startswith("linear")},
   {"train_step": N, "eval": N})
eq("regions: train_step calls", {g["name"]: g["calls"] for g in sr["regions"]},
   {"train_step": 5 * N, "eval": 2 * ev})
evA, evB = N // 5, 2 * N // 5
eq("two models: layers", lay(t), {"linear 20%s50" % A: 2 * N + evA, "linear 50%s3" % A: 3 * N + evA,
                                  "linear 32%s16" % A: 4 * N + evB, "linear 16%s4" % A: 6 * N + evB})
eq("two models: iterations each", {k: v for k, v in its(t).items() if k.startswith("linear")},
   {"linear 20%s50" % A: N, "linear 50%s3" % A: N, "linear 32%s16" % A: 2 * N, "linear 16%s4" % A: 2 * N})
eq("two models: train_step per iteration of both loops", its(t)["train_step"], 3 * N)
eq("a@a: no linear layer", [l["name"] for l in np_["layers"] if l["name"].startswith("linear")], [])
eq("a@a: one descriptive layer", lay(np_), {"dgemm 96x96x96": 40})
print("small: %s; two models: %s; a@a: %s" % (sorted(lay(s)), sorted(its(t).items()), sorted(lay(np_))))
PY
echo "torch nets: real widths, detection inside regions, two models with their own iterations; a@a stays a GEMM"
