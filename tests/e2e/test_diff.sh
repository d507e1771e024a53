#!/usr/bin/env bash
# diff: a real run against itself shows no change (every row 0%, within
# noise, in text and JSON); a synthetic run (tests/fakes/bigtrace.c, exact
# times, 30 W measured) against one with four times the calls shows the
# whole run, its layers and sgemm changed, each layer's time x4 exactly and
# no noise beyond the 1% floor (the synthetic calls are identical); real
# runs of different lengths are not compared here: on a loaded machine
# their times say more about the neighbours than about the runs.  Unknown
# options and a missing run are refused with exit 2.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train" "$build/fakes/bigtrace"

record "$tmp/a" "$build/examples/mlp_train" --steps 50 --batch 32 --regions >/dev/null || fail "mlp_train failed"
"$build/fakes/bigtrace" "$tmp/sa.gstrace" 3000 2 1 || fail "bigtrace failed"
"$build/fakes/bigtrace" "$tmp/sb.gstrace" 12000 2 1 || fail "bigtrace failed"

"$ana" diff "$tmp/a" "$tmp/a" >"$tmp/self.txt" 2>"$tmp/self.err" || fail "diff A A: exit $?: $(cat "$tmp/self.err")"
"$ana" diff "$tmp/a" "$tmp/a" --format json >"$tmp/self.json" || fail "diff A A --format json: exit $?"
"$ana" diff "$tmp/sa.gstrace" "$tmp/sb.gstrace" --format json >"$tmp/ab.json" || fail "diff A B: exit $?"
"$ana" diff "$tmp/sa.gstrace" "$tmp/sb.gstrace" >"$tmp/ab.txt" || fail "diff A B text: exit $?"
grep -q "^0 of [0-9]* rows changed beyond the noise" "$tmp/self.txt" || { cat "$tmp/self.txt"; fail "diff of a run with itself reports a change"; }
grep -q "changed" "$tmp/ab.txt" || fail "diff A B: no row changed"
"$ana" diff "$tmp/a" 2>/dev/null; [ $? = 2 ] || fail "diff with one run: want exit 2"
"$ana" diff "$tmp/a" "$tmp/a" --bogus 2>/dev/null; [ $? = 2 ] || fail "diff --bogus: want exit 2"

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
for key in (("total", "whole run"), ("layer", "model/fc1"), ("layer", "model/fc2"), ("layer", "model/fc3"),
            ("routine", "sgemm (cblas)")):
    r = rows.get(key)
    if r is None:
        print("A vs B: no row", key, "in", list(rows)); sys.exit(1)
    eq("A vs B %s verdict" % (key,), r["verdict"], "changed")
    if key[0] != "total":
        if abs(r["time_change"] - 3) > 1e-6:
            print("A vs B %s: time change %r, want +300%%" % (key, r["time_change"])); sys.exit(1)
        if abs(r["time_noise"] - 0.02) > 1e-9:
            print("A vs B %s: noise %r, want the floor 1%% + 1%%" % (key, r["time_noise"])); sys.exit(1)
print("diff: a run against itself shows no change; 4x the calls: every layer and sgemm +300%, beyond the noise")
PY
