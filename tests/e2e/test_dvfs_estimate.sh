#!/usr/bin/env bash
# test_dvfs_estimate.sh - `greenshim-analyze dvfs RUN` on one trace of the
# demo trainer (no measurements at other settings): the CPU-frequency model
# is ESTIMATED for the whole job and for each layer the report finds, from
# each GEMM's arithmetic intensity against the compute and bandwidth
# ceilings, with an uncertainty; the recommendation is one of the candidates,
# within the slowdown; no candidates and no cpufreq in the trace -> exit 2
# with a message saying what to give; GPU knobs need a sweep or a profile.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"

record "$tmp/run" "$build/examples/mlp_train" --steps 200 --quiet || fail "trainer failed"
report_json "$tmp/run" "$tmp/report.json" || fail "report: $(cat "$tmp/report.json.err")"
"$ana" dvfs "$tmp/run" --candidates 1200000:3000000:100000 --format json -o "$tmp/rec.json" 2>"$tmp/err" ||
    fail "dvfs on one trace: $(cat "$tmp/err")"
"$ana" dvfs "$tmp/run" --candidates 1200000:3000000:100000 | sed 's/^/    /'
pycheck "$tmp/rec.json" "$tmp/report.json" <<'PY'
r = load(sys.argv[1]); rep = load(sys.argv[2])
recs = r["recommendations"]
whole = [x for x in recs if x["layer"] is None]
eq("whole-job recommendations", len(whole), 1)
names = sorted(l["name"] for l in rep["layers"])
eq("one recommendation per layer of the report", sorted(x["layer"] for x in recs if x["layer"] is not None), names)
if len(names) < 3: print("the demo trainer has 3 layers, the report found", names); sys.exit(1)
cands = set(range(1200000, 3000001, 100000))
for x in recs:
    eq("provenance", x["provenance"], "estimated")
    eq("knob", x["knob"], "cpu_freq_khz")
    eq("baseline", x["baseline"], 3000000)
    if x["recommended"] not in cands: print("not a candidate:", x["recommended"]); sys.exit(1)
    if x["slowdown_pct"] > 5 + 1e-9: print("slowdown", x); sys.exit(1)
    if not (x["uncertainty_pct"] > 0): print("an estimate needs an uncertainty:", x); sys.exit(1)
    if x["energy_saving_pct"] < 0: print("negative saving", x); sys.exit(1)
# the estimate reproduces the measurement at the baseline (saving 0 there)
w = whole[0]
if not (abs(w["predicted_energy_j"] / (1 - w["energy_saving_pct"] / 100) - rep["energy"]["total_j"]) <= 1e-6 * rep["energy"]["total_j"] + 1e-9
        if "energy" in rep and isinstance(rep["energy"], dict) and "total_j" in rep["energy"] else True):
    print("baseline energy differs from the report's total"); sys.exit(1)
fits = {f["layer"]: f for f in r["fits"]}
for name in [None] + names:
    f = fits[name]
    eq("settings behind an estimate", f["settings"], 1)
    if f["loo_energy_error_pct"] is not None: print("an estimate has no leave-one-out"); sys.exit(1)
    if not (f["t_scaling_s"] >= 0 and f["t_fixed_s"] >= 0 and f["t_scaling_s"] + f["t_fixed_s"] > 0): print(f); sys.exit(1)
print("estimated: whole job %g kHz (%.1f%% saving +- %.1f), layers %s" % (w["recommended"], w["energy_saving_pct"],
      w["uncertainty_pct"], ", ".join("%s %g" % (x["layer"], x["recommended"]) for x in recs if x["layer"])))
PY
[ $? -eq 0 ] || fail "single-trace estimate"

# the objectives change the choice (ed2p values time more)
"$ana" dvfs "$tmp/run" --candidates 1200000:3000000:100000 --objective ed2p --format json -o "$tmp/ed2p.json" ||
    fail "--objective ed2p"
pycheck "$tmp/rec.json" "$tmp/ed2p.json" <<'PY'
a = [x for x in load(sys.argv[1])["recommendations"] if x["layer"] is None][0]
b = [x for x in load(sys.argv[2])["recommendations"] if x["layer"] is None][0]
eq("ed2p objective recorded", load(sys.argv[2])["objective"], "ed2p")
if b["predicted_time_s"] > a["predicted_time_s"] * 1.05 + 1e-12: print("ed2p slower than energy within 5%", a, b); sys.exit(1)
PY
[ $? -eq 0 ] || fail "objectives on an estimate"

rc=0; "$ana" dvfs "$tmp/run" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "no candidates, no cpufreq: exit $rc, want 2"
grep -q -- "--candidates" "$tmp/err" || fail "no hint to give --candidates: $(cat "$tmp/err")"
rc=0; "$ana" dvfs "$tmp/run" --knob gpu_sm_clock_mhz --candidates 1:2:1 >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "GPU knob from one CPU trace: exit $rc, want 2"
grep -q "sweep" "$tmp/err" || fail "GPU knob message: $(cat "$tmp/err")"
echo ok
