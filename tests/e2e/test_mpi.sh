#!/usr/bin/env bash
# An MPI job under the recorder (issue 18): `greenshim record -- mpirun -np 2`
# of a C data-parallel trainer (tests/e2e/src/mpi_train.c: 6 sgemm, 2
# MPI_Allreduce, Isend/Irecv/Waitall per step; Bcast x2, Reduce, Barrier)
# whose rank 1 is a straggler (sleeps 25 ms per step before its allreduce).
#  - two rank rows (mpirun is no rank), launcher openmpi, world size 2;
#  - per rank: sgemm calls exact, every MPI function's calls exact, allreduce
#    bytes = 40 x 64 x 64 x 4;
#  - the waiting rank (0) has a larger wait_s than the straggler, and at
#    least half the straggler's sleep; ops[] lists the MPI ops with bytes;
#  - DVFS for the job (predicted): a slower clock for rank 0, none for the straggler;
#  - HTML: the per-rank table and the rank x time timeline; Perfetto: one
#    process group per rank (named, in rank order), the MPI calls as slices;
#  - a program without MPI still runs under the library (no libmpi needed).
# Exit 0 pass, 77 skip (no Open MPI), 1 fail.
. "$(dirname "$0")/lib/common.sh"
command -v mpirun >/dev/null || skip "no mpirun (Debian openmpi-bin; scripts/install-deps.sh installs it)"
[ -x "$build/mpi/mpi_train" ] || skip "no build/mpi/mpi_train (needs mpicc: libopenmpi-dev)"
need "$lib" "$ana" "$build/greenshim"
nm -D "$lib" | grep -q " T MPI_Allreduce" || fail "libgreenshim.so has no MPI_Allreduce interposer (built without mpi.h?)"
if nm -D "$lib" | grep -E " U (MPI_|PMPI_|ompi_)" ; then fail "libgreenshim.so needs libmpi symbols at load time"; fi
steps=20
"$build/greenshim" record -q -o "$tmp/run" -- \
    mpirun --allow-run-as-root --oversubscribe -np 2 "$build/mpi/mpi_train" $steps 1 25 >"$tmp/out" 2>&1 ||
    fail "mpirun under the recorder failed: $(tail -5 "$tmp/out")"
grep -q "steps $steps ranks 2" "$tmp/out" || fail "the trainer did not finish: $(tail -3 "$tmp/out")"
report_json "$tmp/run" "$tmp/r.json" || fail "report: exit $?: $(tail -3 "$tmp/r.json.err")"
"$ana" report "$tmp/run" >"$tmp/r.txt" 2>&1 || fail "text report failed"
pycheck "$tmp/r.json" "$tmp/r.txt" $steps <<'PY' || exit 1
r = load(sys.argv[1]); text = open(sys.argv[2]).read(); S = int(sys.argv[3])
j = r["job"]
eq("launcher", j["launcher"], "openmpi")
eq("world size", j["world_size"], 2)
eq("rank rows", [k["rank"] for k in r["ranks"]], [0, 1])
eq("processes without a rank", j["processes_without_rank"], 0)
want = {"allreduce": 2 * S, "isend": S, "irecv": S, "waitall": S, "bcast": 2, "reduce": 1, "barrier": 1}
for k in r["ranks"]:
    got = {f: v["calls"] for f, v in k["comm"]["ops"].items()}
    eq("rank %d MPI calls" % k["rank"], got, want)
    eq("rank %d comm calls" % k["rank"], k["comm"]["calls"], sum(want.values()))
    eq("rank %d sgemm calls" % k["rank"], k["calls"] - k["comm"]["calls"], 6 * S)
    eq("rank %d allreduce bytes" % k["rank"], k["comm"]["ops"]["allreduce"]["bytes"], 2 * S * 64 * 64 * 4)
    eq("rank %d isend bytes" % k["rank"], k["comm"]["ops"]["isend"]["bytes"], S * 16 * 4)
    eq("rank %d local rank" % k["rank"], k["local_rank"], k["rank"])
w0, w1 = r["ranks"][0]["wait_s"], r["ranks"][1]["wait_s"]
print("wait: rank 0 %.4f s, rank 1 (straggler) %.4f s; comm time %.4f / %.4f s" %
      (w0, w1, r["ranks"][0]["comm"]["time_s"], r["ranks"][1]["comm"]["time_s"]))
if not w0 > w1: sys.exit("the waiting rank's wait_s %.4f is not above the straggler's %.4f" % (w0, w1))
if not w0 >= 0.5 * S * 0.025: sys.exit("rank 0 waited %.4f s, less than half the straggler's %d x 25 ms" % (w0, S))
if not w0 <= r["ranks"][0]["comm"]["time_s"] + 1e-9: sys.exit("wait above the time in communication")
o = {(x["op"], x["api"]): x for x in r["ops"]}
eq("ops allreduce calls", o[("allreduce", "mpi")]["calls"], 4 * S)
eq("ops allreduce bytes", o[("allreduce", "mpi")]["bytes"], 4 * S * 64 * 64 * 4)
eq("ops sgemm calls", o[("sgemm", "cblas")]["calls"], 12 * S)
eq("collectives matched", j["collectives"]["matched"], 2 * S + 4)
eq("incomplete", j["collectives"]["incomplete"], 0)
if "job openmpi:" not in text or "wait" not in text: sys.exit("text: no per-rank table")
d = {x["rank"]: x for x in j["dvfs"]["ranks"]}
eq("dvfs provenance", j["dvfs"]["provenance"], "predicted")
if not d[0]["clock_fraction"] < 0.9 or not d[0]["predicted_saving_j"] > 0:
    sys.exit("the waiting rank gets no slower clock: %r" % d[0])
# the straggler's own slack is scheduling jitter (a share of its ~1 ms of
# compute under load): it must be tiny beside the waiter's and get the
# faster clock of the two
if not (d[1]["slack_s"] < 0.05 * d[0]["slack_s"] and d[1]["clock_fraction"] > d[0]["clock_fraction"]):
    sys.exit("the straggler is told to slow down like a waiting rank: %r vs %r" % (d[1], d[0]))
if "DVFS for the job (predicted)" not in text: sys.exit("text: no DVFS table")
PY
# HTML: the per-rank table and the rank x time timeline; Perfetto: one process group per rank, in rank order
"$ana" html "$tmp/run" -o "$tmp/r.html" 2>"$tmp/h.err" || fail "html: $(cat "$tmp/h.err")"
grep -q "<h2>Ranks</h2>" "$tmp/r.html" && grep -q "waiting for the last rank" "$tmp/r.html" || fail "html: no rank table or timeline"
"$ana" export --perfetto "$tmp/p.json" "$tmp/run" 2>"$tmp/p.err" || fail "perfetto: $(cat "$tmp/p.err")"
pycheck "$tmp/p.json" <<'PY' || exit 1
d = load(sys.argv[1]); ev = d["traceEvents"] if isinstance(d, dict) else d
names = sorted(e["args"]["name"].split(":")[0] for e in ev if e.get("name") == "process_name")
eq("perfetto process groups", names, ["rank 0 on " + names[0].split(" on ")[1], "rank 1 on " + names[1].split(" on ")[1]])
eq("sort indices", sorted(e["args"]["sort_index"] for e in ev if e.get("name") == "process_sort_index"), [0, 1])
if not any(e.get("ph") == "X" and e.get("name") == "allreduce" for e in ev): sys.exit("perfetto: no allreduce slices")
PY
# the node's summary, merged, gives the same ranks and waits
"$ana" summarize "$tmp/run" -o "$tmp/run.sum" 2>"$tmp/s.err" || fail "summarize: $(cat "$tmp/s.err")"
"$ana" merge "$tmp/run.sum" --format json >"$tmp/m.json" 2>"$tmp/m.err" || fail "merge: $(cat "$tmp/m.err")"
pycheck "$tmp/r.json" "$tmp/m.json" <<'PY' || exit 1
r = load(sys.argv[1]); m = load(sys.argv[2])
for a, b in zip(r["ranks"], m["ranks"]):
    for k in ("busy_s", "energy_j", "wait_s", "wait_j"):
        if abs(a[k] - b[k]) > 1e-9 * max(1e-9, abs(a[k])): sys.exit("rank %d %s: report %r, merge %r" % (a["rank"], k, a[k], b[k]))
    eq("rank %d comm" % a["rank"], b["comm"], a["comm"])
eq("collectives", m["job"]["collectives"], r["job"]["collectives"])
PY
# the same library in a program with no MPI at all
record "$tmp/plain" "$build/bench/tiny_gemm" 10 1 >/dev/null || fail "a non-MPI program under the library failed"
echo "mpirun -np 2: per-rank BLAS and MPI counts exact, rank 0 waits for the straggler"
