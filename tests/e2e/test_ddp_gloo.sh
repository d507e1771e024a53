#!/usr/bin/env bash
# PyTorch DistributedDataParallel on gloo (issue 18): two ranks of
# tests/e2e/src/ddp_gloo.py started with RANK, LOCAL_RANK, WORLD_SIZE,
# MASTER_ADDR, MASTER_PORT as torchrun sets them (Debian's torchrun fails on
# this Python), 8 steps; rank 1 sleeps 100 ms per step before its backward (0.8 s of
# waiting for rank 0: 30 ms gave 0.10 s against the straggler's own 0.12 s of
# scheduling jitter at load 25).
#  - one job (tcp:ADDR:PORT), two rank rows;
#  - each rank has the model's three Linear layers (layers_across_ranks:
#    ranks = 2) and communication time;
#  - gloo seen through libgloo.so.0: per rank 8 allreduce of the model's
#    gradients (101,386 floats each: bytes exact), matched across ranks;
#  - the rank that waits (0) has a larger wait_s than the straggler.
# Exit 0 pass, 77 skip (no torch with gloo, or the interposers not built), 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c "import torch.distributed as d; assert d.is_gloo_available()" 2>/dev/null ||
    skip "no PyTorch with gloo for $py (Debian python3-torch)"
nm -D "$lib" | grep -q " T _ZN4gloo9allreduceERKNS_16AllreduceOptionsE" ||
    skip "libgreenshim.so built without the gloo interposers (Debian libgloo-dev headers missing)"
port=$((20000 + RANDOM % 20000))
for r in 0 1; do
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port PYTHONPATH="$root/python" \
    OMP_NUM_THREADS=1 record "$tmp/run" "$py" tests/e2e/src/ddp_gloo.py 8 1 0.1 >"$tmp/out.$r" 2>&1 &
done
wait
for r in 0 1; do
    grep -q "rank $r of 2: 8 steps" "$tmp/out.$r" || fail "rank $r did not finish: $(tail -5 "$tmp/out.$r")"
done
report_json "$tmp/run" "$tmp/r.json" || fail "report: exit $?: $(tail -3 "$tmp/r.json.err")"
"$ana" report "$tmp/run" >"$tmp/r.txt" 2>&1 || fail "text report failed"
pycheck "$tmp/r.json" "$tmp/r.txt" $port <<'PY' || exit 1
r = load(sys.argv[1]); text = open(sys.argv[2]).read(); port = sys.argv[3]
j = r["job"]
eq("job id", j["id"], "tcp:127.0.0.1:" + port)
eq("rank rows", [k["rank"] for k in r["ranks"]], [0, 1])
lay = {l["name"]: l for l in r["layers_across_ranks"]}
for name in ("0:Linear linear 128→256", "2:Linear linear 256→256", "4:Linear linear 256→10"):
    if name not in lay: sys.exit("no layer %r across ranks: %r" % (name, sorted(lay)))
    eq(name + " ranks", lay[name]["ranks"], 2)
    if not lay[name]["time_s"]["min"] > 0: sys.exit("%s: a rank without time" % name)
grad = (128 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10) * 4
for k in r["ranks"]:
    a = k["comm"]["ops"].get("allreduce")
    if not a: sys.exit("rank %d: no gloo allreduce: %r" % (k["rank"], k["comm"]["ops"]))
    eq("rank %d allreduce calls" % k["rank"], a["calls"], 8)
    eq("rank %d allreduce bytes" % k["rank"], a["bytes"], 8 * grad)
    if not k["comm"]["time_s"] > 0: sys.exit("rank %d: no communication time" % k["rank"])
o = {(x["op"], x["api"]) for x in r["ops"]}
if ("allreduce", "gloo") not in o: sys.exit("ops: no gloo allreduce")
if j["collectives"]["matched"] < 8: sys.exit("collectives matched: %r" % j["collectives"])
w0, w1 = r["ranks"][0]["wait_s"], r["ranks"][1]["wait_s"]
print("DDP on gloo: wait rank 0 %.4f s, rank 1 (straggler) %.4f s; comm %.4f / %.4f s" %
      (w0, w1, r["ranks"][0]["comm"]["time_s"], r["ranks"][1]["comm"]["time_s"]))
if not w0 > w1: sys.exit("the waiting rank's wait_s is not above the straggler's")
if "job tcp:127.0.0.1:%s (torchrun): 2 ranks" % port not in text: sys.exit("text: no job table")
PY
