#!/usr/bin/env bash
# The NCCL interposers (issue 18), through the fake libnccl.so.2 (no GPU
# here): two ranks of tests/e2e/src/nccl_ranks.c (compiled against CUDA's
# nccl.h) started as torch.distributed starts them (RANK, LOCAL_RANK,
# WORLD_SIZE, MASTER_ADDR, MASTER_PORT), 12 steps of sgemm + ncclAllReduce
# of 1024 floats, a broadcast of 256 doubles, a send/recv pair:
#  - one job (id tcp:ADDR:PORT, launcher torchrun), two rank rows;
#  - per rank: NCCL calls and bytes exact, api nccl, communicator size 2;
#  - NCCL's calls only enqueue: none is matched for waiting (their GPU time
#    is CUPTI's, docs/gpu.md).
# Exit 0 pass, 77 skip (not built: no nccl.h), 1 fail.
. "$(dirname "$0")/lib/common.sh"
[ -x "$build/gpu/nccl_ranks" ] || skip "no build/gpu/nccl_ranks (CUDA's nccl.h is not in /usr/local/cuda/include)"
need "$lib" "$ana" "$build/fakes/nccl/libnccl.so.2"
nm -D "$lib" | grep -q " T ncclAllReduce" || fail "libgreenshim.so has no ncclAllReduce interposer"
port=$((20000 + RANDOM % 20000))
for r in 0 1; do
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    LD_LIBRARY_PATH="$build/fakes/nccl" record "$tmp/run" "$build/gpu/nccl_ranks" 12 >"$tmp/out.$r" 2>&1 &
done
wait
grep -q "rank 1 of 2: 12 steps" "$tmp/out.1" || fail "rank 1 failed: $(cat "$tmp/out.1")"
report_json "$tmp/run" "$tmp/r.json" || fail "report: exit $?: $(tail -3 "$tmp/r.json.err")"
pycheck "$tmp/r.json" $port <<'PY' || exit 1
r = load(sys.argv[1]); port = sys.argv[2]
j = r["job"]
eq("job id", j["id"], "tcp:127.0.0.1:" + port)
eq("launcher", j["launcher"], "torchrun")
eq("ranks", [k["rank"] for k in r["ranks"]], [0, 1])
for k in r["ranks"]:
    ops = {f: (v["calls"], v["bytes"]) for f, v in k["comm"]["ops"].items()}
    eq("rank %d NCCL calls and bytes" % k["rank"], ops,
       {"allreduce": (12, 12 * 4096), "bcast": (1, 2048), "send": (1, 64), "recv": (1, 64)})
    eq("rank %d sgemm" % k["rank"], k["calls"] - k["comm"]["calls"], 12)
o = {(x["op"], x["api"]): x for x in r["ops"]}
eq("ops allreduce nccl", (o[("allreduce", "nccl")]["calls"], o[("allreduce", "nccl")]["bytes"]), (24, 24 * 4096))
eq("collectives matched (NCCL only enqueues)", j["collectives"]["matched"], 0)
s = {(x["op"], x["m"]) for x in r["shapes"] if x["api"] == "nccl"}
if ("allreduce", 2) not in s: sys.exit("no allreduce shape with communicator size 2: %r" % s)
print("NCCL through the fake: 2 ranks, calls and bytes exact")
PY
