#!/usr/bin/env bash
# test_dvfs_profile.sh - `greenshim-analyze dvfs --profile`: a profile CSV of
# a synthetic job (whole run and two layers with known time and power curves,
# three settings each) in, a recommendation out: the JSON has exactly the
# fields of the contract, each optimum is within one candidate step of the
# true one, the per-layer gap is there; published sweeps (tests/data/dvfs,
# docs/dvfs-model.md): the optimum predicted from three settings lands within
# one step of the sweep's; bad arguments and bad CSV exit 2 with a message.
. "$(dirname "$0")/lib/common.sh"
need "$ana"

"$py" - "$tmp/prof.csv" "$tmp/truth.json" <<'PY'
import json, sys
# time = ts*1410/f + tf ; power = ps + pd*(f/1410)^a  (a GPU clock, MHz)
truth = {"*": (2.0, 1.0, 80, 220, 2.5), "attn": (1.6, 0.2, 80, 220, 2.5), "mlp": (0.4, 0.8, 80, 220, 2.5)}
def at(l, f):
    ts, tf, ps, pd, a = truth[l]
    x = f / 1410.0
    t = ts / x + tf
    return t, (ps + pd * x ** a) * t
with open(sys.argv[1], "w") as o:
    o.write("layer,knob,setting,time_s,energy_j\n")
    for f in (705, 1005, 1410):
        for l in truth:
            t, e = at(l, f)
            o.write("%s,gpu_sm_clock_mhz,%d,%.9f,%.9f\n" % (l, f, t, e))
cands = list(range(705, 1411, 15))
best = {}
for l in truth:
    tb, eb = at(l, 1410)
    ok = [f for f in cands if at(l, f)[0] <= tb * 1.05 + 1e-12]
    best[l] = min(ok, key=lambda f: at(l, f)[1])
json.dump(best, open(sys.argv[2], "w"))
PY
"$ana" dvfs --profile "$tmp/prof.csv" --candidates 705:1410:15 --format json -o "$tmp/rec.json" 2>"$tmp/err" ||
    fail "dvfs --profile: $(cat "$tmp/err")"
"$ana" dvfs --profile "$tmp/prof.csv" --candidates 705:1410:15 | sed 's/^/    /'
pycheck "$tmp/rec.json" "$tmp/truth.json" <<'PY'
r = load(sys.argv[1]); best = load(sys.argv[2])
eq("top-level keys", sorted(k for k in r if k in ("format_version", "objective", "max_slowdown_pct", "recommendations")),
   ["format_version", "max_slowdown_pct", "objective", "recommendations"])
eq("format_version", r["format_version"], 1)
eq("objective", r["objective"], "energy")
eq("max_slowdown_pct", r["max_slowdown_pct"], 5)
keys = ["baseline", "device", "energy_saving_pct", "knob", "layer", "predicted_energy_j", "predicted_time_s",
        "provenance", "recommended", "slowdown_pct", "uncertainty_pct"]
eq("recommendations", len(r["recommendations"]), 3)
for x in r["recommendations"]:
    eq("fields", sorted(x), keys)
    eq("knob", x["knob"], "gpu_sm_clock_mhz")
    eq("device", x["device"], 0)
    eq("provenance", x["provenance"], "fitted")
    eq("baseline", x["baseline"], 1410)
    for k in ("recommended", "predicted_time_s", "predicted_energy_j", "energy_saving_pct", "slowdown_pct", "uncertainty_pct"):
        if not isinstance(x[k], (int, float)) or isinstance(x[k], bool): print(k, "not a number"); sys.exit(1)
    want = best["*" if x["layer"] is None else x["layer"]]
    if abs(x["recommended"] - want) > 15:
        print("%s: recommended %g, true optimum %g" % (x["layer"], x["recommended"], want)); sys.exit(1)
    if x["slowdown_pct"] > 5 + 1e-9: print("slowdown", x["slowdown_pct"]); sys.exit(1)
    if x["energy_saving_pct"] <= 0: print("no saving predicted", x); sys.exit(1)
eq("layers", sorted(str(x["layer"]) for x in r["recommendations"]), ["None", "attn", "mlp"])
g = r["per_layer_gap"]
eq("gap rows", len(g), 1)
if not (g[0]["static_energy_j"] > 0 and g[0]["per_layer_energy_j"] > 0): print("gap", g); sys.exit(1)
print("profile: optimum within one step of the truth for the job and both layers")
PY
[ $? -eq 0 ] || fail "recommendation from the profile"

# objectives: edp and ed2p run no slower than energy's choice
for obj in edp ed2p; do
    "$ana" dvfs --profile "$tmp/prof.csv" --candidates 705:1410:15 --objective $obj --max-slowdown 1000 --format json \
        -o "$tmp/$obj.json" || fail "--objective $obj"
done
"$ana" dvfs --profile "$tmp/prof.csv" --candidates 705:1410:15 --max-slowdown 1000 --format json -o "$tmp/e.json"
pycheck "$tmp/e.json" "$tmp/edp.json" "$tmp/ed2p.json" <<'PY'
w = [[x for x in load(f)["recommendations"] if x["layer"] is None][0]["recommended"] for f in sys.argv[1:]]
if not (w[0] <= w[1] <= w[2]): print("energy <= edp <= ed2p settings violated:", w); sys.exit(1)
eq("objective name", load(sys.argv[3])["objective"], "ed2p")
PY
[ $? -eq 0 ] || fail "objectives"

# published sweeps: the optimum from three settings within one step
"$py" "$root/tests/data/dvfs/validate.py" "$ana" --check >"$tmp/val" 2>&1 || fail "published sweeps: $(cat "$tmp/val")"
sed 's/^/    /' "$tmp/val"

# refusals: exit 2 and a message
refuse() {   # expected-message args...
    local want=$1 rc=0
    shift
    "$ana" dvfs "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "dvfs $*: exit $rc, want 2"
    grep -q -- "$want" "$tmp/err" || fail "dvfs $*: want '$want', got: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "dvfs $*: printed a recommendation anyway"
}
refuse "percentage >= 0" --profile "$tmp/prof.csv" --max-slowdown -5
refuse "percentage >= 0" --profile "$tmp/prof.csv" --max-slowdown five
refuse "unknown objective 'speed'" --profile "$tmp/prof.csv" --objective speed
refuse "empty range" --profile "$tmp/prof.csv" --candidates 1410:705:15
refuse "not a positive number" --profile "$tmp/prof.csv" --candidates 705,x
refuse "unknown format" --profile "$tmp/prof.csv" --format yaml
refuse "unknown option" --profile "$tmp/prof.csv" --fast
refuse "give run or sweep directories"
refuse "cannot read profile" --profile "$tmp/none.csv"
printf 'layer,knob,f,time_s,energy_j\n*,cpu_freq_khz,1,1,1\n' >"$tmp/b1.csv"
refuse "header must be" --profile "$tmp/b1.csv"
printf 'layer,knob,setting,time_s,energy_j\n*,cpu_freq_khz,2000000,fast,1\n' >"$tmp/b2.csv"
refuse "b2.csv:2: setting, time_s and energy_j must be positive numbers" --profile "$tmp/b2.csv"
printf 'layer,knob,setting,time_s,energy_j\n*,gpu_volts,1,1,1\n' >"$tmp/b3.csv"
refuse "unknown knob 'gpu_volts'" --profile "$tmp/b3.csv"
printf 'layer,knob,setting,time_s,energy_j\n*,cpu_freq_khz,1,1\n' >"$tmp/b4.csv"
refuse "want 5 fields" --profile "$tmp/b4.csv"
printf 'layer,knob,setting,time_s,energy_j\n*,cpu_freq_khz,2000000,1,1\n' >"$tmp/b5.csv"
refuse "need at least two settings" --profile "$tmp/b5.csv"
: >"$tmp/b6.csv"
refuse "empty profile" --profile "$tmp/b6.csv"
echo ok
