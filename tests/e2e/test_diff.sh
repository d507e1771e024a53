#!/usr/bin/env bash
# diff: a run against itself shows no change (every row 0%, within noise,
# in text and JSON); a run against one four times as long shows the whole
# run, its layers and sgemm changed beyond the noise the traces show; the
# noise column is estimated from each run's halves; unknown options and a
# missing run are refused with exit 2.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"

record "$tmp/a" "$build/examples/mlp_train" --steps 50 --batch 32 --regions >/dev/null || fail "mlp_train failed"
record "$tmp/b" "$build/examples/mlp_train" --steps 200 --batch 32 --regions >/dev/null || fail "mlp_train failed"

"$ana" diff "$tmp/a" "$tmp/a" >"$tmp/self.txt" 2>"$tmp/self.err" || fail "diff A A: exit $?: $(cat "$tmp/self.err")"
"$ana" diff "$tmp/a" "$tmp/a" --format json >"$tmp/self.json" || fail "diff A A --format json: exit $?"
"$ana" diff "$tmp/a" "$tmp/b" --format json >"$tmp/ab.json" || fail "diff A B: exit $?"
"$ana" diff "$tmp/a" "$tmp/b" >"$tmp/ab.txt" || fail "diff A B text: exit $?"
grep -q "^0 of [0-9]* rows changed beyond the noise" "$tmp/self.txt" || { cat "$tmp/self.txt"; fail "diff of a run with itself reports a change"; }
grep -q "changed" "$tmp/ab.txt" || fail "diff A B: no row changed"
"$ana" diff "$tmp/a" 2>/dev/null; [ $? = 2 ] || fail "diff with one run: want exit 2"
"$ana" diff "$tmp/a" "$tmp/b" --bogus 2>/dev/null; [ $? = 2 ] || fail "diff --bogus: want exit 2"

pycheck "$tmp/self.json" "$tmp/ab.json" <<'PY' || exit 1
s = load(sys.argv[1])
eq("self: rows changed", s["changed"], 0)
if len(s["rows"]) < 5:
    print("self: want total, 3 layers, outside and a routine, got", [r["name"] for r in s["rows"]]); sys.exit(1)
for r in s["rows"]:
    eq("self %s: time change" % r["name"], r["time_change"], 0)
    eq("self %s: energy change" % r["name"], r["energy_change"], 0)
    eq("self %s: verdict" % r["name"], r["verdict"], "within noise")
    eq("self %s: same time both sides" % r["name"], r["time_s"][0], r["time_s"][1])
d = load(sys.argv[2])
rows = {(r["kind"], r["name"]): r for r in d["rows"]}
for key in (("total", "whole run"), ("layer", "fc1"), ("layer", "fc2"), ("routine", "sgemm (cblas)")):
    r = rows.get(key)
    if r is None:
        print("A vs B: no row", key); sys.exit(1)
    eq("A vs B %s verdict" % (key,), r["verdict"], "changed")
# four times the steps: fc1's calls take longer in all (the slow first steps are shared)
r = rows[("layer", "fc1")]
if not r["time_change"] > 0.2:
    print("A vs B fc1: time change", r["time_change"], "want > +20%"); sys.exit(1)
if not all(0 < x["energy_noise"] < 2 for x in d["rows"]):
    print("noise out of range", [x["energy_noise"] for x in d["rows"]]); sys.exit(1)
print("diff: self shows no change; 4x the steps changes the run, fc1, fc2 and sgemm beyond the noise")
PY
