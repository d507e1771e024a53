#!/usr/bin/env bash
# Every table adds up (issue 22 item 3): for an annotated program (the demo
# MLP with --regions: time inside regions but between calls), the same
# program under a --region filter, and two Python threads multiplying at
# once (calls that overlap in time), in the JSON report, exactly (to the
# 9 digits JSON prints):
#  - layers' wall + the layers' outside = the run's wall time, and their
#    energies + outside = the total (the gaps inside regions counted once);
#  - routines' and shapes' wall + outside = wall; energies + outside = total;
#  - calls + in regions between calls + outside = the total energy;
#  - "reconciled" is true for each table, and the text report says
#    "reconciled: yes" once for the energy line and once per table.
# Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"
mlp=$build/examples/mlp_train

record "$tmp/reg" "$mlp" --steps 120 --batch 64 --regions --quiet || fail "mlp_train --regions failed"
cases="reg"
"$ana" report "$tmp/reg" --format json >"$tmp/reg.json" 2>"$tmp/reg.json.err" || fail "report: $(cat "$tmp/reg.json.err")"
"$ana" report "$tmp/reg" >"$tmp/reg.txt" 2>&1 || fail "text report failed"
"$ana" report "$tmp/reg" --region fc1 --format json >"$tmp/filt.json" 2>"$tmp/filt.json.err" ||
    fail "report --region: $(cat "$tmp/filt.json.err")"
"$ana" report "$tmp/reg" --region fc1 >"$tmp/filt.txt" 2>&1 || fail "text report --region failed"
cases="$cases filt"
if "$py" -c "import numpy" 2>/dev/null; then
    record "$tmp/thr" "$py" examples/numpy_threads.py --threads 2 --n 128 --reps 30 >/dev/null ||
        fail "numpy_threads failed"
    "$ana" report "$tmp/thr" --format json >"$tmp/thr.json" 2>"$tmp/thr.json.err" || fail "report: $(cat "$tmp/thr.json.err")"
    "$ana" report "$tmp/thr" >"$tmp/thr.txt" 2>&1 || fail "text report failed"
    cases="$cases thr"
else
    echo "numpy not installed: the overlapping-threads case is left out"
fi

for c in $cases; do
    "$py" - "$tmp/$c.json" "$tmp/$c.txt" "$c" <<'PY' || exit 1
import json, sys, re
r = json.load(open(sys.argv[1]))
txt = open(sys.argv[2]).read()
case = sys.argv[3]
fails = []
wall, tot = r["duration_s"], r["energy"]["total_j"]
def same(a, b, what):
    # JSON prints 9 significant digits: sums agree to that (the analyzer checks to 1e-9 of the total)
    if abs(a - b) > 1e-8 * max(abs(a), abs(b), 1e-3):
        fails.append("%s: %.12g != %.12g (off by %.3g)" % (what, a, b, a - b))
out = r["outside"]
same(sum(l["wall_s"] for l in r["layers"]) + out["layers_time_s"], wall, "layers wall + outside vs wall")
same(sum(l["energy_j"] for l in r["layers"]) + out["layers_energy_j"], tot, "layers energy + outside vs total")
rc = r["energy"]["reconciliation"]
for t, rows in (("routines", r["ops"]), ("shapes", r["shapes"])):
    same(sum(x["wall_s"] for x in rows) + rc[t]["outside_time_s"], wall, t + " wall + outside vs wall")
    same(sum(x["energy_j"] for x in rows) + rc[t]["outside_energy_j"], tot, t + " energy + outside vs total")
e = r["energy"]
same(e["calls_j"] + e["regions_between_calls_j"] + out["energy_j"], tot, "calls + between calls + outside vs total")
for t, x in rc.items():
    if not (x["time_reconciled"] and x["energy_reconciled"]):
        fails.append("%s: not reconciled: %r" % (t, x))
if e["reconciled"] is not True:
    fails.append("energy.reconciled is %r" % e["reconciled"])
if case == "reg":
    # the demo's layers do work between their calls (bias, ReLU): counted once, in the layers
    if not e["regions_between_calls_j"] > 0:
        fails.append("no energy between calls inside regions: %r" % e["regions_between_calls_j"])
    lt = sum(l["time_s"] for l in r["layers"])
    # (1e-6 of the wall: under load with the ring, the sum came out ~1 us over
    # a 2.8 s wall twice in 20 runs; not yet explained, see the closing note)
    if lt + out["layers_time_s"] > wall * (1 + 1e-6):
        fails.append("layer time %.6f + outside %.6f > wall %.6f" % (lt, out["layers_time_s"], wall))
if case == "thr":
    call_t = sum(o["time_s"] for o in r["ops"])
    print("threads: call time %.4f s summed over threads, wall shares %.4f s, wall %.4f s"
          % (call_t, sum(o["wall_s"] for o in r["ops"]), wall))
yes = len(re.findall(r"reconciled: yes", txt))
if yes != 4 or "reconciled: NO" in txt:
    fails.append("text: want 'reconciled: yes' 4 times (energy line, routines, shapes, layers), got %d:\n%s"
                 % (yes, "\n".join(l for l in txt.splitlines() if "reconciled" in l)))
if fails:
    print(case + ":\n  " + "\n  ".join(fails)); sys.exit(1)
print("%s: layers %d rows, wall %.6f s, total %.6f J: every table adds up" % (case, len(r["layers"]), wall, tot))
PY
done
echo "reconcile: every table's rows + outside equal the wall time and the total energy"
