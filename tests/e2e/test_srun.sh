#!/usr/bin/env bash
# run.sh: alone (slurmctld and slurmd: daemons of their own, the ports picked at random)
# Slurm end to end (issue 18): a one-node cluster started inside the test
# (munged, slurmctld, slurmd; Debian slurm-wlm and munge, private sockets,
# ports, spool and state in the test's directory), then
#     srun -n 2 greenshim record -o DIR -- tiny_gemm
# under it: one job (slurm:JOB.STEP), two rank rows with exact calls, node
# from SLURMD_NODENAME.  Skipped, with the reason, where the daemons cannot
# start (no slurm-wlm or munge, not root, the node never comes up).
# Exit 0 pass, 77 skip, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/bench/tiny_gemm"
for b in munged slurmctld slurmd srun; do
    command -v $b >/dev/null || [ -x /usr/sbin/$b ] || skip "no $b (Debian slurm-wlm and munge: scripts/install-deps.sh installs them)"
done
[ "$(id -u)" = 0 ] || skip "the test cluster's daemons run as root here (munged --force, SlurmUser=root)"
PATH=$PATH:/usr/sbin
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
c=$tmp/slurm
mkdir -p "$c/spool" "$c/state" "$c/munge"
chmod 700 "$c/munge"
dd if=/dev/urandom of="$c/munge/key" bs=1024 count=1 2>/dev/null
chmod 400 "$c/munge/key"
munged --force --socket="$c/munge/sock" --key-file="$c/munge/key" --pid-file="$c/munge/pid" \
    --log-file="$c/munge/log" --seed-file="$c/munge/seed" 2>"$c/munged.err" ||
    skip "munged does not start: $(tail -1 "$c/munged.err")"
for i in $(seq 50); do [ -f "$c/munge/pid" ] && break; sleep 0.1; done
[ -f "$c/munge/pid" ] && pids+=("$(cat "$c/munge/pid")")
host=$(hostname -s)
port=$((30000 + RANDOM % 20000))
cat >"$c/slurm.conf" <<CONF
ClusterName=gs$port
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$c/munge/sock
CredType=cred/munge
StateSaveLocation=$c/state
SlurmdSpoolDir=$c/spool
SlurmctldPidFile=$c/slurmctld.pid
SlurmdPidFile=$c/slurmd.pid
SlurmctldLogFile=$c/slurmctld.log
SlurmdLogFile=$c/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=gs Nodes=$host Default=YES MaxTime=10 State=UP OverSubscribe=YES
CONF
export SLURM_CONF=$c/slurm.conf
slurmctld -D -f "$c/slurm.conf" >"$c/ctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$c/slurm.conf" -N "$host" >"$c/d.out" 2>&1 &
pids+=($!)
up=""
for i in $(seq 100); do
    if sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix|alloc"; then up=1; break; fi
    sleep 0.2
done
[ -n "$up" ] || skip "the one-node test cluster did not come up in 20 s: $(tail -2 "$c/slurmctld.log" "$c/slurmd.log" 2>/dev/null | tr '\n' ' ' | cut -c1-300)"
timeout 60 srun -n 2 -N 1 --overcommit "$build/greenshim" record -q -o "$tmp/run" -- "$build/bench/tiny_gemm" 123 1 \
    >"$tmp/srun.out" 2>&1 || fail "srun -n 2 failed: $(tail -5 "$tmp/srun.out")"
report_json "$tmp/run" "$tmp/r.json" || fail "report: exit $?: $(tail -3 "$tmp/r.json.err")"
pycheck "$tmp/r.json" "$host" <<'PY' || exit 1
r = load(sys.argv[1]); host = sys.argv[2]
j = r["job"]
if not j or not (j["id"] or "").startswith("slurm:"): sys.exit("no slurm job id: %r" % j)
eq("launcher", j["launcher"], "slurm")
eq("world size", j["world_size"], 2)
eq("rank rows", [k["rank"] for k in r["ranks"]], [0, 1])
for k in r["ranks"]:
    eq("rank %d calls" % k["rank"], k["calls"], 123)
    eq("rank %d node" % k["rank"], k["node"], host)
print("srun -n 2 on a one-node test cluster: job %s, two ranks" % j["id"])
PY
