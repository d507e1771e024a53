#!/usr/bin/env bash
# Waiting and node clocks across nodes (issue 18), on synthetic traces
# (bench/synth_job.c: 48 ranks on 3 nodes, 30 steps of 4 sgemm + one
# allreduce; every 7th rank 3 ms slower; each node its own monotonic clock
# and a realtime reading 400 us x node off):
#  - wait_s exact: 0 for the stragglers, 30 x 3 ms for the others (the
#    skew is removed on the collective exits: without it node 1's and 2's
#    waits would be off by 30 x 0.4 / 0.8 ms); the clock fix and residual said;
#  - DVFS for the job (predicted): slack 90 ms and clock t_c / (t_c + 90 ms) for the
#    waiting ranks, none for the stragglers, node caps 1 (a straggler on each);
#  - summarize per node + merge: the same ranks, waits, ops and DVFS as the report;
#  - past the bound of 16,384 collectives kept per rank (4 ranks x 17,000
#    steps): the first 16,384 matched, the rest counted as not matched, in
#    the report and the merge alike.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$ana" "$build/bench/synth_job"
"$build/bench/synth_job" "$tmp/j" 48 3 30 400 || fail "synth_job failed"
"$ana" report "$tmp/j/node-0" "$tmp/j/node-1" "$tmp/j/node-2" --format json >"$tmp/r.json" 2>"$tmp/r.err" ||
    fail "report: exit $?: $(tail -3 "$tmp/r.err")"
for n in 0 1 2; do
    "$ana" summarize "$tmp/j/node-$n" -o "$tmp/$n.sum" 2>"$tmp/s.err" || fail "summarize node $n: $(cat "$tmp/s.err")"
done
"$ana" merge "$tmp"/[012].sum --format json >"$tmp/m.json" 2>"$tmp/m.err" || fail "merge: $(cat "$tmp/m.err")"
"$ana" merge "$tmp"/[012].sum >"$tmp/m.txt" 2>&1 || fail "merge text failed"
grep -q "^  47 " "$tmp/m.txt" || fail "merge text has no row for rank 47"
pycheck "$tmp/r.json" "$tmp/m.json" <<'PY' || exit 1
r = load(sys.argv[1]); m = load(sys.argv[2])
for rep, name in ((r, "report"), (m, "merge")):
    j = rep["job"]
    eq(name + " ranks", len(rep["ranks"]), 48)
    eq(name + " nodes", j["nodes"], 3)
    eq(name + " matched", j["collectives"]["matched"], 30)
    for k in rep["ranks"]:
        want = 0 if k["rank"] % 7 == 0 else 30 * 0.003
        if abs(k["wait_s"] - want) > 1e-6: sys.exit("%s rank %d: wait %.7f s, want %.7f" % (name, k["rank"], k["wait_s"], want))
    fix = {n["name"]: n["clock_fix_s"] for n in j["node_list"]}
    for n, f in fix.items():
        want = -0.0004 * int(n.split("-")[1])
        if abs(f - want) > 1e-6: sys.exit("%s %s: clock fix %.7f s, want %.7f" % (name, n, f, want))
    if j["clock"]["residual_s"] > 1e-6: sys.exit("%s: residual %r" % (name, j["clock"]["residual_s"]))
for a, b in zip(r["ranks"], m["ranks"]):
    eq("rank %d" % a["rank"], b, a)
# DVFS for the job: the waiting ranks' slack is 30 x 3 ms all along; the stragglers have none
d = r["job"]["dvfs"]
eq("dvfs provenance", d["provenance"], "predicted")
for x in d["ranks"]:
    want = 0 if x["rank"] % 7 == 0 else 0.09
    if abs(x["slack_s"] - want) > 1e-6: sys.exit("rank %d: slack %r, want %r" % (x["rank"], x["slack_s"], want))
    f = x["compute_s"] / (x["compute_s"] + want) if want else 1.0
    if abs(x["clock_fraction"] - f) > 1e-9: sys.exit("rank %d: clock fraction %r, want %r" % (x["rank"], x["clock_fraction"], f))
eq("merge dvfs", m["job"]["dvfs"], d)
for n in d["nodes"]:
    eq(n["node"] + " node clock (a straggler on every node)", n["clock_fraction"], 1.0)
mo = {(x["op"], x["api"]): x["calls"] for x in m["ops"]}
eq("merge ops", mo, {("sgemm", "cblas"): 48 * 30 * 4, ("allreduce", "mpi"): 48 * 30})
print("48 synthetic ranks on 3 skewed nodes: waits exact after alignment; merge = report")
PY

# the bound on collectives kept per rank
"$build/bench/synth_job" "$tmp/big" 4 2 17000 0 || fail "synth_job (17000 steps) failed"
"$ana" report "$tmp/big/node-0" "$tmp/big/node-1" --format json >"$tmp/b.json" 2>"$tmp/b.err" || fail "report big: $(tail -2 "$tmp/b.err")"
for n in 0 1; do "$ana" summarize "$tmp/big/node-$n" -o "$tmp/b$n.sum" || fail "summarize big $n"; done
"$ana" merge "$tmp/b0.sum" "$tmp/b1.sum" --format json >"$tmp/bm.json" || fail "merge big"
pycheck "$tmp/b.json" "$tmp/bm.json" <<'PY' || exit 1
r = load(sys.argv[1]); m = load(sys.argv[2])
for rep, name in ((r, "report"), (m, "merge")):
    c = rep["job"]["collectives"]
    eq(name + " matched", c["matched"], 16384)
    eq(name + " not matched", c["not_matched"], 4 * (17000 - 16384))
    for k in rep["ranks"]:
        want = 0 if k["rank"] == 0 else 16384 * 0.003
        if abs(k["wait_s"] - want) > 1e-5: sys.exit("%s rank %d: wait %r, want %r" % (name, k["rank"], k["wait_s"], want))
        eq(name + " rank %d allreduce calls" % k["rank"], k["comm"]["ops"]["allreduce"]["calls"], 17000)
for a, b in zip(r["ranks"], m["ranks"]):
    eq("big rank %d" % a["rank"], b, a)
print("17,000 collectives per rank: 16,384 matched in report and merge alike, 2,464 counted as not matched")
PY
