#!/usr/bin/env bash
# The Python helper's ATen fallback, for PyTorch builds whose BLAS and
# oneDNN no preload sees (PyPI's CPU wheels).  On Debian's torch the native
# path is hidden with GREENSHIM_NATIVE=0 (the wrappers forward, record
# nothing); under `greenshim record` the fallback turns itself on at
# "import torch" (python/greenshim_site) and records matrix products and
# convolutions as the native path would:
#   - MLP and CNN: the same layers as native interception, FLOPs within 2%
#     (in fact equal), every record marked as ATen's;
#   - the program's results bit for bit the same as under native
#     interception (the convolution backward runs as its two halves, like
#     oneDNN);
#   - with native interception on: auto mode installs nothing, and
#     GREENSHIM_ATEN=on never records an operator twice.
. "$(dirname "$0")/lib/common.sh"
"$py" -c "import torch, torch.utils._python_dispatch" 2>/dev/null || skip "python3-torch (with TorchDispatchMode) not installed"
gs=$build/greenshim
need "$lib" "$ana" "$gs"
cat >"$tmp/train.py" <<'PY'
import hashlib, sys, torch
torch.manual_seed(0)
torch.set_num_threads(1)
kind = sys.argv[1]
if kind == "mlp":
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    data = [(torch.randn(32, 64), torch.randint(0, 10, (32,))) for _ in range(4)]
else:
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3),
                              torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16 * 22 * 22, 10))
    data = [(torch.randn(8, 1, 26, 26), torch.randint(0, 10, (8,))) for _ in range(4)]
opt = torch.optim.SGD(net.parameters(), lr=0.05)
for x, y in data:
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
h = hashlib.sha256()
for p in net.parameters():
    h.update(p.detach().numpy().tobytes())
import greenshim_aten
print(kind, h.hexdigest(), "aten installed" if greenshim_aten.installed() else "aten not installed")
PY
layers() {   # run -> "name calls flops" lines
    "$ana" report "$1" --format json >"$1.json" || return 1
    "$py" - "$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for l in r["layers"]:
    print(l["name"], l["calls"], l.get("flops") or 0)
print("ops", sum(o["calls"] for o in r["ops"]))
PY
}
for kind in mlp cnn; do
    # the native run is the reference (the recorder changes no result: test_torch)
    nat=$(GREENSHIM_QUIET=1 "$gs" record -o "$tmp/$kind.native" -- "$py" "$tmp/train.py" $kind) || fail "$kind native"
    at=$(GREENSHIM_QUIET=1 GREENSHIM_NATIVE=0 "$gs" record -o "$tmp/$kind.aten" -- "$py" "$tmp/train.py" $kind) || fail "$kind aten"
    h=${nat% aten*}
    [ "$nat" = "$h aten not installed" ] || fail "$kind native run: '$nat' (auto installed the fallback)"
    [ "$at" = "$h aten installed" ] || fail "$kind ATen fallback: '$at' (native: '$nat')"
    if [ $kind = mlp ]; then
        on=$(GREENSHIM_QUIET=1 GREENSHIM_ATEN=on "$gs" record -o "$tmp/$kind.on" -- "$py" "$tmp/train.py" $kind) || fail "$kind aten=on"
        [ "$on" = "$h aten installed" ] || fail "$kind GREENSHIM_ATEN=on: '$on'"
        layers "$tmp/$kind.on" >"$tmp/$kind.ol" || fail "analyzer on $kind aten=on"
    else
        layers "$tmp/$kind.native" >"$tmp/$kind.ol" || fail "analyzer"
    fi
    layers "$tmp/$kind.native" >"$tmp/$kind.nl" || fail "analyzer on $kind native"
    layers "$tmp/$kind.aten" >"$tmp/$kind.al" || fail "analyzer on $kind aten"
    "$ana" dump "$tmp/$kind.aten"/*.gstrace >"$tmp/$kind.ad" || fail "dump"
    "$ana" dump "$tmp/$kind.native"/*.gstrace >"$tmp/$kind.nd" || fail "dump"
    pycheck "$kind" "$tmp/$kind.nl" "$tmp/$kind.al" "$tmp/$kind.ol" "$tmp/$kind.ad" "$tmp/$kind.nd" <<'PY' || exit 1
kind = sys.argv[1]
def rows(p):
    d = {}
    for line in open(p):
        if line.startswith("ops "):
            d["ops"] = int(line.split()[1])
            continue
        name, calls, flops = line.rsplit(" ", 2)
        d[name] = (int(calls), float(flops))
    return d
nat, at, on = rows(sys.argv[2]), rows(sys.argv[3]), rows(sys.argv[4])
nl = {k: v for k, v in nat.items() if k != "ops"}
al = {k: v for k, v in at.items() if k != "ops"}
eq(kind + ": layers found by the ATen fallback", sorted(al), sorted(nl))
for name in nl:
    fn, fa = nl[name][1], al[name][1]
    if not (fn > 0 and abs(fa - fn) <= 0.02 * fn):
        print("FAIL: %s %s: FLOPs %g (ATen) vs %g (native)" % (kind, name, fa, fn)); sys.exit(1)
    print("%s %-16s native %3d calls %12.0f FLOPs | ATen %3d calls %12.0f FLOPs" % (kind, name, nl[name][0], fn, al[name][0], fa))
eq(kind + ": GREENSHIM_ATEN=on records nothing twice (ops)", on["ops"], nat["ops"])
ad = [l for l in open(sys.argv[5]) if " CALL " in l or "DNNL exec" in l]
calls = [l for l in ad if " CALL " in l]
if not ad or any(not int(l.rsplit("flags=", 1)[1].split()[0], 16) & 0x4000 for l in calls):
    print("FAIL: ATen calls without the ATen mark"); sys.exit(1)
nd = [l for l in open(sys.argv[6]) if " CALL " in l]
if any(int(l.rsplit("flags=", 1)[1].split()[0], 16) & 0x4000 for l in nd):
    print("FAIL: the native run has ATen-marked calls"); sys.exit(1)
PY
done
echo "ATen fallback: MLP and CNN layers and FLOPs as native; results bit-identical; no double count"
