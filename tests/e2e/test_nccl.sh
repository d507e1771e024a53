#!/usr/bin/env bash
# NCCL (issue 18), through the fake libnccl.so.2 (no GPU here): two ranks of
# tests/e2e/src/nccl_ranks.c (compiled against CUDA's nccl.h) started as
# torch.distributed starts them (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR,
# MASTER_PORT), 12 steps of sgemm + ncclAllReduce of 1024 floats, a
# broadcast of 256 doubles, a send/recv pair in a group; the fake loads a
# profiler plugin as NCCL >= 2.23 does.  Five ways:
#  - plugin-v7: the shim offers itself as NCCL_PROFILER_PLUGIN, the fake
#    (as the newest NCCL) takes ncclProfiler_v7: every call recorded through
#    the plugin, once (the interposers forward without recording);
#  - plugin-v4: the fake as an NCCL that knows v4 at most: the task events;
#  - old: an NCCL without plugins: the interposers record;
#  - user: the user's own NCCL_PROFILER_PLUGIN is left as it is, one
#    greenshim: line says so, the interposers record;
#  - off: GREENSHIM_NCCL_PLUGIN=0: not offered, the interposers record.
# Each way: one job (id tcp:ADDR:PORT, launcher torchrun), two rank rows, per
# rank NCCL calls and bytes exact, communicator size 2, none matched for
# waiting (NCCL only enqueues; the GPU time is CUPTI's, docs/gpu.md).
# Exit 0 pass, 77 skip (not built: no nccl.h), 1 fail.
. "$(dirname "$0")/lib/common.sh"
[ -x "$build/gpu/nccl_ranks" ] || skip "no build/gpu/nccl_ranks (CUDA's nccl.h is not in /usr/local/cuda/include)"
need "$lib" "$ana" "$build/fakes/nccl/libnccl.so.2"
nm -D "$lib" | grep -q " T ncclAllReduce" || fail "libgreenshim.so has no ncclAllReduce interposer"
for v in 4 5 6 7; do
    nm -D "$lib" | grep -q " [DR] ncclProfiler_v$v$" || fail "libgreenshim.so exports no ncclProfiler_v$v"
done

one_way() {   # WAY ENV...: run both ranks with ENV, check the report and the records
    local way=$1
    shift
    local d=$tmp/$way port=$((20000 + RANDOM % 20000))
    mkdir -p "$d"
    for r in 0 1; do
        env "$@" RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
            LD_LIBRARY_PATH="$build/fakes/nccl" LD_PRELOAD="$lib" GREENSHIM_OUT="$d/run" \
            "$build/gpu/nccl_ranks" 12 >"$d/out.$r" 2>&1 &
    done
    wait
    grep -q "rank 1 of 2: 12 steps" "$d/out.1" || fail "$way: rank 1 failed: $(cat "$d/out.1")"
    report_json "$d/run" "$d/r.json" || fail "$way: report: exit $?: $(tail -3 "$d/r.json.err")"
    for f in "$d"/run/*.gstrace; do "$ana" dump "$f"; done | grep ' COMM ' >"$d/comm.txt"
    pycheck "$d/r.json" "$d/comm.txt" $port "$way" <<'PY' || exit 1
r = load(sys.argv[1]); port = sys.argv[3]; way = sys.argv[4]
j = r["job"]
eq(way + ": job id", j["id"], "tcp:127.0.0.1:" + port)
eq(way + ": launcher", j["launcher"], "torchrun")
eq(way + ": ranks", [k["rank"] for k in r["ranks"]], [0, 1])
for k in r["ranks"]:
    ops = {f: (v["calls"], v["bytes"]) for f, v in k["comm"]["ops"].items()}
    eq("%s: rank %d NCCL calls and bytes" % (way, k["rank"]), ops,
       {"allreduce": (12, 12 * 4096), "bcast": (1, 2048), "send": (1, 64), "recv": (1, 64)})
    eq("%s: rank %d sgemm" % (way, k["rank"]), k["calls"] - k["comm"]["calls"], 12)
o = {(x["op"], x["api"]): x for x in r["ops"]}
eq(way + ": ops allreduce nccl", (o[("allreduce", "nccl")]["calls"], o[("allreduce", "nccl")]["bytes"]), (24, 24 * 4096))
eq(way + ": collectives matched (NCCL only enqueues)", j["collectives"]["matched"], 0)
s = {(x["op"], x["m"]) for x in r["shapes"] if x["api"] == "nccl"}
if ("allreduce", 2) not in s: sys.exit("%s: no allreduce shape with communicator size 2: %r" % (way, s))
# the records themselves: which path wrote them, sizes, keys, sequence, peers
recs = [dict(kv.split("=", 1) for kv in l.split()[3:]) for l in open(sys.argv[2])]
eq(way + ": COMM records", len(recs), 2 * 15)
plugin = way.startswith("plugin")
eq(way + ": records through the plugin", sum("plugin" in x["flags"] for x in recs), 30 if plugin else 0)
eq(way + ": all flagged enqueue-only", sum("async" in x["flags"] for x in recs), 30)
eq(way + ": communicator sizes", {x["size"] for x in recs}, {"2"})
eq(way + ": one communicator key", len({x["key"] for x in recs}), 1)
eq(way + ": collective sequence numbers", sorted(int(x["seq"]) for x in recs if x["fn"] in ("allreduce", "bcast")),
   sorted(list(range(1, 14)) * 2))
eq(way + ": bcast root", {x["peer"] for x in recs if x["fn"] == "bcast"}, {"0"})
# ranks 0 and 1: send to rank+1, receive from rank-1 (mod 2): peer 1 and 0 in each trace
eq(way + ": p2p peers", sorted(x["peer"] for x in recs if x["fn"] in ("send", "recv")), ["0", "0", "1", "1"])
print("%s: 2 ranks, NCCL calls and bytes exact, once each" % way)
PY
}

one_way plugin-v7
grep -q "fake-nccl: profiler plugin .*libgreenshim.so: greenshim, ncclProfiler_v7" "$tmp/plugin-v7/out.0" ||
    fail "plugin-v7: the fake NCCL did not load the shim's ncclProfiler_v7: $(cat "$tmp/plugin-v7/out.0")"
one_way plugin-v4 FAKE_NCCL_PROFILER_MAX=4
grep -q "greenshim, ncclProfiler_v4" "$tmp/plugin-v4/out.0" ||
    fail "plugin-v4: the fake NCCL did not load ncclProfiler_v4: $(cat "$tmp/plugin-v4/out.0")"
one_way old FAKE_NCCL_PROFILER_MAX=0
grep -q "profiler plugin" "$tmp/old/out.0" && fail "old: an NCCL without plugins loaded one: $(cat "$tmp/old/out.0")"
one_way user NCCL_PROFILER_PLUGIN=userprof GREENSHIM_QUIET=0
grep -q "fake-nccl: no profiler plugin libnccl-profiler-userprof.so" "$tmp/user/out.0" ||
    fail "user: the user's NCCL_PROFILER_PLUGIN was not the one NCCL looked for: $(cat "$tmp/user/out.0")"
grep -q "^greenshim: NCCL_PROFILER_PLUGIN is userprof (set before the shim started): left as it is" "$tmp/user/out.0" ||
    fail "user: no greenshim: line about the user's plugin: $(cat "$tmp/user/out.0")"
one_way off GREENSHIM_NCCL_PLUGIN=0
grep -q "libgreenshim" "$tmp/off/out.0" && fail "off: the shim offered itself: $(cat "$tmp/off/out.0")"
echo "NCCL through the fake: plugin v7 and v4, old NCCL, the user's plugin, plugin off: calls and bytes exact"
