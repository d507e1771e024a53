#!/usr/bin/env bash
# One Slurm-style job of 64 ranks is one run (issue 18): 64 processes
# started as srun starts them (SLURM_JOB_ID, SLURM_STEP_ID, SLURM_PROCID,
# SLURM_LOCALID, SLURM_NODEID, SLURMD_NODENAME, SLURM_NTASKS), each on its
# own (no common parent: 64 run ids), ranks 0-31 writing to one directory
# ("node" a), 32-63 to another ("node" b).
#  - `report A B` reports them as one job (no "different runs" refusal):
#    64 rank rows with the right node, local rank and exact calls (rank i
#    makes 100 + i calls), 2 nodes, the job id slurm:JOB.STEP;
#  - a process of the job that no launcher numbered is no rank row;
#  - `summarize` of each directory + `merge` give the same job: ranks,
#    calls, busy time, energy, ops (when summarize exists: D of issue 18).
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/bench/tiny_gemm"
job=$((RANDOM + 1000))
start_rank() {   # rank dir node
    local r=$1
    SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURM_PROCID=$r SLURM_LOCALID=$((r % 32)) SLURM_NODEID=$((r / 32)) \
    SLURMD_NODENAME=$3 SLURM_NTASKS=64 record "$2" "$build/bench/tiny_gemm" $((100 + r)) 1 >/dev/null
}
for r in $(seq 0 63); do
    if [ $r -lt 32 ]; then start_rank $r "$tmp/a" node-a & else start_rank $r "$tmp/b" node-b & fi
    [ $((r % 8)) = 7 ] && wait
done
wait
# a helper of the job (srun's own process would be one): the job id, no rank
( unset SLURM_PROCID; SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURMD_NODENAME=node-a \
  record "$tmp/a" "$build/bench/tiny_gemm" 7 1 >/dev/null ) || fail "helper process failed"
[ "$(ls "$tmp/a"/*.gstrace | wc -l)" = 33 ] && [ "$(ls "$tmp/b"/*.gstrace | wc -l)" = 32 ] ||
    fail "want 33 + 32 traces: $(ls "$tmp/a" | wc -l) $(ls "$tmp/b" | wc -l)"
"$ana" report "$tmp/a" "$tmp/b" --format json >"$tmp/r.json" 2>"$tmp/r.err" || fail "report of the job: exit $?: $(tail -3 "$tmp/r.err")"
"$ana" report "$tmp/a" "$tmp/b" >"$tmp/r.txt" 2>&1 || fail "text report of the job failed"
pycheck "$tmp/r.json" "$tmp/r.txt" "$job" <<'PY' || exit 1
r = load(sys.argv[1]); text = open(sys.argv[2]).read(); job = sys.argv[3]
j = r["job"]
eq("job id", j["id"], "slurm:%s.0" % job)
eq("launcher", j["launcher"], "slurm")
eq("world size", j["world_size"], 64)
eq("nodes", j["nodes"], 2)
eq("ranks seen", j["ranks_seen"], 64)
eq("processes without a rank", j["processes_without_rank"], 1)
eq("rank rows", [k["rank"] for k in r["ranks"]], list(range(64)))
for k in r["ranks"]:
    i = k["rank"]
    eq("rank %d calls" % i, k["calls"], 100 + i)
    eq("rank %d node" % i, k["node"], "node-a" if i < 32 else "node-b")
    eq("rank %d local rank" % i, k["local_rank"], i % 32)
    if not k["busy_s"] > 0: sys.exit("rank %d: busy_s %r" % (i, k["busy_s"]))
    eq("rank %d comm calls" % i, k["comm"]["calls"], 0)
eq("job calls", j["calls"], sum(100 + i for i in range(64)) + 7)
nodes = {n["name"]: n["ranks"] for n in j["node_list"]}
for n in j["node_list"]:
    if n["energy_j"] > 0 and n["provenance"] == "none": sys.exit("node %s: energy %r with provenance none" % (n["name"], n["energy_j"]))
eq("ranks per node", nodes, {"node-a": 32, "node-b": 32})
e = sum(n["energy_j"] for n in j["node_list"])
if abs(e - j["energy_j"]) > 5e-9 * (len(j["node_list"]) + 1) * max(1e-3, abs(e)):   # 9 significant digits per JSON number
    sys.exit("nodes' energy %r does not add up to the job's %r" % (e, j["energy_j"]))
if abs(j["energy_j"] - r["energy"]["total_j"]) > 1e-6 * max(1, r["energy"]["total_j"]):
    sys.exit("job energy %r != report total %r" % (j["energy_j"], r["energy"]["total_j"]))
if "different runs" in text: sys.exit("the job was reported as different runs")
if "job slurm:%s.0 (slurm): 64 ranks of world size 64 on 2 nodes" % job not in text:
    sys.exit("text: no job line: " + "\n".join(l for l in text.splitlines() if l.startswith("job")))
rows = [l for l in text.split("DVFS for the job")[0].splitlines() if l.startswith("  63 ")]
if len(rows) != 1 or "node-b" not in rows[0] or " 163 " not in rows[0]: sys.exit("text: rank 63 row %r" % rows)
print("64 ranks over 2 directories: one job, exact calls per rank, %.3f J over 2 nodes" % j["energy_j"])
PY
if "$ana" help 2>&1 | grep -q summarize; then
    "$ana" summarize "$tmp/a" -o "$tmp/a.sum" 2>"$tmp/sa.err" || fail "summarize a: $(cat "$tmp/sa.err")"
    "$ana" summarize "$tmp/b" -o "$tmp/b.sum" 2>"$tmp/sb.err" || fail "summarize b: $(cat "$tmp/sb.err")"
    "$ana" merge "$tmp/a.sum" "$tmp/b.sum" --format json >"$tmp/m.json" 2>"$tmp/m.err" || fail "merge: $(cat "$tmp/m.err")"
    pycheck "$tmp/r.json" "$tmp/m.json" <<'PY' || exit 1
r = load(sys.argv[1]); m = load(sys.argv[2])
def close(what, a, b):
    if abs(a - b) > 1e-6 * max(1e-9, abs(a), abs(b)): sys.exit("%s: report %r, merge %r" % (what, a, b))
for k in ("id", "launcher", "world_size", "nodes", "ranks_seen", "processes_without_rank", "calls"):
    eq("job " + k, m["job"][k], r["job"][k])
close("job energy", m["job"]["energy_j"], r["job"]["energy_j"])
eq("rank rows", len(m["ranks"]), len(r["ranks"]))
for a, b in zip(r["ranks"], m["ranks"]):
    for k in ("rank", "local_rank", "node", "pid", "calls"):
        eq("rank %d %s" % (a["rank"], k), b[k], a[k])
    for k in ("busy_s", "energy_j", "wait_s"):
        close("rank %d %s" % (a["rank"], k), a[k], b[k])
print("summarize + merge: the same 64 ranks, calls, busy time and energy as the report over both directories")
PY
else
    echo "summarize/merge not built: the job report over both directories checked"
fi
