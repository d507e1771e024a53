#!/usr/bin/env bash
# The text report a person reads, checked against the JSON report:
#   - a headline: energy with provenance, the top layer and routine with
#     their shares, the share outside intercepted calls, the steady state;
#   - every share column says its base; idle and net-of-idle energy shown;
#   - figures with significant digits (no "0.00000"), counter totals with
#     units; tables aligned by display width ("linear 784→128" is 14 columns);
#   - filters --pid --tid --region --from/--to select calls as the JSON shows;
#     --per-thread lists every thread with calls;
#   - carbon: --carbon-intensity or GREENSHIM_CARBON_INTENSITY gives CO2e
#     labelled with its source, none given gives no CO2e.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix" "$build/examples/mlp_train"

record "$tmp/mlp" "$build/examples/mlp_train" --steps 60 --batch 32 >/dev/null || fail "mlp_train failed"
record "$tmp/mix" "$build/examples/blas_mix" >/dev/null || fail "blas_mix failed"
record "$tmp/reg" "$build/examples/mlp_train" --steps 60 --batch 32 --regions >/dev/null || fail "mlp_train --regions failed"
"$ana" report "$tmp/mlp" >"$tmp/mlp.txt" || fail "report: exit $?"
report_json "$tmp/mlp" "$tmp/mlp.json" || fail "report json: exit $?"
"$ana" report "$tmp/mlp" --carbon-intensity 400 >"$tmp/c.txt" || fail "report --carbon-intensity: exit $?"
"$ana" report "$tmp/mlp" --carbon-intensity 400 --format json >"$tmp/c.json" || fail "json --carbon-intensity"
GREENSHIM_CARBON_INTENSITY=120 "$ana" report "$tmp/mlp" >"$tmp/env.txt" || fail "report with the env: exit $?"
"$ana" report "$tmp/mlp" --carbon-intensity abc 2>/dev/null; [ $? = 2 ] || fail "--carbon-intensity abc: want exit 2"
report_json "$tmp/mix" "$tmp/mix.json" || fail "report mix: exit $?"
"$ana" report "$tmp/mix" --per-thread >"$tmp/mix.txt" || fail "report --per-thread: exit $?"
tid=$("$py" -c 'import json,sys; t=[x for x in json.load(open(sys.argv[1]))["threads_view"] if x["calls"]]; print(t[-1]["tid"], t[-1]["calls"])' "$tmp/mix.json")
"$ana" report "$tmp/mix" --tid "${tid% *}" --format json >"$tmp/tid.json" || fail "report --tid: exit $?"
pid=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["process_list"][0]["pid"])' "$tmp/mix.json")
"$ana" report "$tmp/mix" --pid "$pid" --format json >"$tmp/pid.json" || fail "report --pid: exit $?"
"$ana" report "$tmp/mix" --pid 1 2>/dev/null >/dev/null; [ $? = 2 ] || fail "--pid of no process: want exit 2"
"$ana" report "$tmp/reg" --region fc1 --format json >"$tmp/fc1.json" || fail "report --region: exit $?"
"$ana" report "$tmp/reg" --region fc1 >"$tmp/fc1.txt" || fail "report --region text: exit $?"
"$ana" report "$tmp/mix" --from 0 --to 1000 --format json >"$tmp/all.json" || fail "--from/--to all: exit $?"
"$ana" report "$tmp/mix" --from 1000 --format json >"$tmp/none.json" || fail "--from past the end: exit $?"

pycheck "$tmp/mlp.txt" "$tmp/mlp.json" "$tmp/c.txt" "$tmp/c.json" "$tmp/env.txt" "$tmp/mix.txt" "$tmp/mix.json" \
        "$tmp/tid.json" "$tmp/pid.json" "$tmp/fc1.json" "$tmp/all.json" "$tmp/none.json" "$tmp/fc1.txt" <<PY || exit 1
import re, math
tid_calls = int("${tid#* }")
t = open(sys.argv[1]).read()
r = load(sys.argv[2])
def si(v, unit):
    # fmt.c's ana_si: 3 significant digits and an SI prefix
    a = abs(v)
    if a == 0: return "0 " + unit
    for f, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if a / f >= 0.9995 or p == "n": break
    x = v / f
    mag = math.floor(math.log10(abs(x)))
    if round(abs(x) / 10 ** (mag - 2)) >= 1000: mag += 1
    return "%.*f %s%s" % (max(0, 2 - mag), x, p, unit)
lines = t.splitlines()
head = "\n".join(lines[:8])
want = si(r["energy"]["total_j"], "J")
if not re.search(r"^  " + re.escape(want) + " (MODELLED|measured)", head, re.M):
    print("headline: want total", want, "in\n" + head); sys.exit(1)
top = max(r["layers"], key=lambda l: l["energy_j"])
if "layer " + top["name"] + ": " + si(top["energy_j"], "J") not in head or "most went " not in head:
    print("headline: want top layer", top["name"], si(top["energy_j"], "J"), "in\n" + head); sys.exit(1)
w = 100 * r["headline"]["outside_share_of_wall"]
out_share = ("%.1f%%" % w if w >= 1 or w == 0 else "%.2g%%" % w) + " of wall time"
if "outside intercepted calls: " + out_share not in head:
    print("headline: want", out_share); sys.exit(1)
if r["steady_state"] and "steady state: %d iterations" % r["steady_state"]["iterations"] not in head:
    print("headline: no steady state"); sys.exit(1)
for words in ("%wall: of the wall time", "%energy: of the total energy", "net of idle", "idle baseline"):
    if words not in t:
        print("text lacks", repr(words)); sys.exit(1)
if re.search(r"\b0\.0000+\b", t):
    print("text prints a figure as zeros:", re.search(r".*\b0\.0000+\b.*", t).group(0)); sys.exit(1)
for l in lines:
    if "(over the sampled calls)" in l and not re.search(r"\d+ [a-z]+ \(over the sampled calls\)", l):
        print("counter total without a unit:", l); sys.exit(1)
# tables aligned by display width: every row of a table as wide as its header
blocks, cur = [], []
for l in lines + [""]:
    if l.strip() == "": 
        if cur: blocks.append(cur)
        cur = []
    else: cur.append(l)
layer_tab = [b for b in blocks if b[0].startswith("layers (")][0][1:]
widths = {len(l) for l in layer_tab}   # python counts code points: the display width here
if len(widths) != 1:
    print("layer table rows of different display widths", widths, "\n" + "\n".join(layer_tab)); sys.exit(1)
if not any("\u2192" in l for l in layer_tab):
    print("no detected layer named with an arrow"); sys.exit(1)
# carbon
c, cj = open(sys.argv[3]).read(), load(sys.argv[4])
g = cj["energy"]["total_j"] / 3.6e6 * 400
# both printed to 9 digits: agree to 1e-7
if abs(cj["carbon"]["total_g"] - g) > 1e-7 * g or cj["carbon"]["source"] != "--carbon-intensity":
    print("carbon JSON", cj["carbon"], "want", g); sys.exit(1)
if si(g, "g") + " CO2e (at 400 g/kWh, --carbon-intensity)" not in c:
    print("text: want", si(g, "g"), "CO2e labelled --carbon-intensity"); sys.exit(1)
if "GREENSHIM_CARBON_INTENSITY" not in open(sys.argv[5]).read():
    print("the environment's intensity is not labelled"); sys.exit(1)
if "CO2e" in t or r["carbon"] is not None:
    print("CO2e printed with no intensity given"); sys.exit(1)
# per-thread view and filters
mt, mj = open(sys.argv[6]).read(), load(sys.argv[7])
for th in mj["threads_view"]:
    if th["calls"] and not re.search(r"^\s*%d\s+%d\s+%d\s" % (th["pid"], th["tid"], th["calls"]), mt, re.M):
        print("--per-thread lacks", th); sys.exit(1)
eq("--tid: calls", load(sys.argv[8])["calls"], tid_calls)
eq("--pid: calls", load(sys.argv[9])["calls"], mj["calls"])
f = load(sys.argv[10])
eq("--region fc1: layers", [l["name"].split(" ")[0] for l in f["layers"]], ["fc1"])
eq("--region fc1: calls", f["calls"], f["layers"][0]["calls"])
if f["filter"] is None or f["filter"]["calls_left_out"] <= 0:
    print("--region: the filter is not reported", f["filter"]); sys.exit(1)
if abs(sum(l["energy_j"] for l in f["layers"]) + f["outside"]["energy_j"] - f["energy"]["total_j"]) > 1e-6:
    print("--region: energy no longer reconciles"); sys.exit(1)
if "filter: --region fc1" not in open(sys.argv[13]).read():
    print("text: the filter is not stated"); sys.exit(1)
eq("--from 0 --to 1000: calls", load(sys.argv[11])["calls"], mj["calls"])
eq("--from 1000: calls", load(sys.argv[12])["calls"], 0)
print("text: headline, share bases, significant digits, widths, carbon, per-thread and filters as the JSON says")
PY
