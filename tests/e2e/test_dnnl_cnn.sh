#!/usr/bin/env bash
# oneDNN on Debian's PyTorch: examples/torch_cnn.py (Conv2d 1->8 3x3, pool,
# Conv2d 8->16 3x3, pool, Linear 400->10, batch 32) runs its convolutions in
# libdnnl.so.2 (dnnl_primitive_execute), which torch loads as a dependency
# of an RTLD_LOCAL extension.  With no markup the report must show both
# convolutions by their channels and kernel and the classifier by its
# features; convolution calls and FLOPs exact (conv1: forward and backward
# weights, 2 a step; conv2: forward, backward data, backward weights, 3 a
# step; 2 x out x (batch x out pixels) x (in x 3 x 3) each).  With
# greenshim.annotate the names say the module first ("0:Conv2d conv 1→8 3x3").
# Exit 0 pass, 1 fail, 77 skip (torch or its oneDNN missing).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c 'import torch; assert torch.backends.mkldnn.is_available()' 2>/dev/null \
    || skip "python3-torch with oneDNN (mkldnn) is not installed"
N=8
record "$tmp/c" "$py" examples/torch_cnn.py --steps $N --quiet || fail "torch_cnn.py failed under the shim"
record "$tmp/a" "$py" examples/torch_cnn.py --steps $N --quiet --annotate || fail "torch_cnn.py --annotate failed"
report_json "$tmp/c" "$tmp/c.json" || fail "analyzer exit $?: $(tail -3 "$tmp/c.json.err")"
report_json "$tmp/a" "$tmp/a.json" || fail "analyzer exit $? (--annotate): $(tail -3 "$tmp/a.json.err")"
pycheck "$tmp/c.json" "$tmp/a.json" $N <<'PY' || exit 1
c, a = load(sys.argv[1]), load(sys.argv[2]); N = int(sys.argv[3])
A = "\u2192"
o = ops(c)
if ("conv", "dnnl") not in o:
    print("no oneDNN convolution recorded: ops %r" % o); sys.exit(1)
eq("conv calls", o[("conv", "dnnl")], 5 * N)
B = 32
want_flops = N * (2 * (2 * 8 * (B * 24 * 24) * 9) + 3 * (2 * 16 * (B * 10 * 10) * 72))
fl = {(x["op"], x["api"]): x["flops"] for x in c["ops"]}
eq("conv flops", fl[("conv", "dnnl")], want_flops)
names = [l["name"] for l in c["layers"]]
for want in ("conv 1%s8 3x3" % A, "conv 8%s16 3x3" % A, "linear 400%s10" % A):
    if want not in names:
        print("layer %r missing: %r" % (want, names)); sys.exit(1)
convs = {l["name"]: l for l in c["layers"] if l["name"].startswith("conv")}
eq("conv layers", sorted(convs), ["conv 1%s8 3x3" % A, "conv 8%s16 3x3" % A])
eq("iterations", c["iterations"], N)
an = [l["name"] for l in a["layers"] if l["calls"]]
for want in ("0:Conv2d conv 1%s8 3x3" % A, "3:Conv2d conv 8%s16 3x3" % A, "7:Linear linear 400%s10" % A):
    if want not in an:
        print("annotated layer %r missing: %r" % (want, an)); sys.exit(1)
# each module region holds one layer (forward and .backward, with its
# reorders): a row of its own, every call of the run in those rows, its
# name from annotate; without markup the rows are detected
rows = {l["name"]: l for l in a["layers"] if l["calls"]}
eq("annotated rows with calls", sorted(rows), sorted(["0:Conv2d conv 1%s8 3x3" % A, "3:Conv2d conv 8%s16 3x3" % A,
                                                     "7:Linear linear 400%s10" % A]))
eq("annotated sources", {l["source"] for l in a["layers"]}, {"annotate"})
eq("annotated rows hold every call", sum(l["calls"] for l in rows.values()), sum(o["calls"] for o in a["ops"]))
eq("annotated classifier calls", rows["7:Linear linear 400%s10" % A]["calls"], 3 * N)
eq("plain sources", {l["source"] for l in c["layers"]}, {"detected"})
inside = sum(x["time_s"] for x in c["ops"])
print("layers: %s; conv GFLOP %.3f; %.1f%% of wall in intercepted calls" %
      (names, fl[("conv", "dnnl")] * 1e-9, 100 * inside / max(1e-12, inside + c["outside"]["time_s"])))
PY
echo "oneDNN CNN: two convolutions and the classifier by channels and features, exact conv FLOPs; annotate keeps them"
