#!/usr/bin/env bash
# diff: a real run against itself shows no change (every row 0%, within
# noise, in text and JSON); a synthetic run (tests/fakes/bigtrace.c, exact
# times, 30 W measured) against one with four times the calls shows the
# whole run, sgemm and each region's layer (its calls) changed in their
# work, each layer's time x4 exactly
# and the within-run noise at the 1% floor (the synthetic calls are
# identical).  Issue 22 item 2: two recordings of the same program
# (the demo MLP, blas_mix) read "no significant change" however much the
# neighbours move their times, one run per side and with repeats
# (diff A1 A2 -- B1 B2, noise measured from the repeats); blas_mix with
# twice the cblas_dgemm calls is flagged on that routine, its layer and the
# whole run only, one run per side and with repeats; the output says what the noise is based on.
# Unknown options, a missing run and an empty side are refused with exit 2.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train" "$build/fakes/bigtrace"

record "$tmp/a" "$build/examples/mlp_train" --steps 50 --batch 32 --regions >/dev/null || fail "mlp_train failed"
"$build/fakes/bigtrace" "$tmp/sa.gstrace" 3000 2 1 || fail "bigtrace failed"
"$build/fakes/bigtrace" "$tmp/sb.gstrace" 12000 2 1 || fail "bigtrace failed"

"$ana" diff "$tmp/a" "$tmp/a" >"$tmp/self.txt" 2>"$tmp/self.err" || fail "diff A A: exit $?: $(cat "$tmp/self.err")"
"$ana" diff "$tmp/a" "$tmp/a" --format json >"$tmp/self.json" || fail "diff A A --format json: exit $?"
"$ana" diff "$tmp/sa.gstrace" "$tmp/sb.gstrace" --format json >"$tmp/ab.json" || fail "diff A B: exit $?"
"$ana" diff "$tmp/sa.gstrace" "$tmp/sb.gstrace" >"$tmp/ab.txt" || fail "diff A B text: exit $?"
grep -q "^no significant change (" "$tmp/self.txt" || { cat "$tmp/self.txt"; fail "diff of a run with itself reports a change"; }
grep -q "changed" "$tmp/ab.txt" || fail "diff A B: no row changed"
"$ana" diff "$tmp/a" 2>/dev/null; [ $? = 2 ] || fail "diff with one run: want exit 2"
"$ana" diff "$tmp/a" "$tmp/a" --bogus 2>/dev/null; [ $? = 2 ] || fail "diff --bogus: want exit 2"
"$ana" diff "$tmp/a" "$tmp/a" -- 2>/dev/null; [ $? = 2 ] || fail "diff A A --: want exit 2 (no run of B)"
"$ana" diff "$tmp/a" "$tmp/a" "$tmp/a" 2>/dev/null; [ $? = 2 ] || fail "diff of three runs without --: want exit 2"

# the same program, recorded again: times move with the machine, the work does not
mix=$build/examples/blas_mix
record "$tmp/a2" "$build/examples/mlp_train" --steps 50 --batch 32 --regions >/dev/null || fail "mlp_train failed"
for k in 1 2 3 4; do
    record "$tmp/m$k" "$mix" --threads 2 >/dev/null || fail "blas_mix failed"
done
for k in 1 2; do
    record "$tmp/d$k" "$mix" --threads 2 --dgemm 20 >/dev/null || fail "blas_mix --dgemm 20 failed"
done
"$ana" diff "$tmp/a" "$tmp/a2" >"$tmp/same.txt" || fail "diff of two recordings: exit $?"
"$ana" diff "$tmp/m1" "$tmp/m2" --format json >"$tmp/same_mix.json" || fail "diff of two blas_mix: exit $?"
# repeats interleaved, as docs/reports.md asks (A B A B: the machine's drift falls on both sides)
"$ana" diff "$tmp/m1" "$tmp/m3" -- "$tmp/m2" "$tmp/m4" >"$tmp/rep.txt" || fail "diff with repeats: exit $?"
"$ana" diff "$tmp/m1" "$tmp/m3" -- "$tmp/m2" "$tmp/m4" --format json >"$tmp/rep.json" || fail "diff with repeats json: exit $?"
"$ana" diff "$tmp/m1" "$tmp/d1" >"$tmp/dg.txt" || fail "diff dgemm x2: exit $?"
"$ana" diff "$tmp/m1" "$tmp/d1" --format json >"$tmp/dg.json" || fail "diff dgemm x2 json: exit $?"
"$ana" diff "$tmp/m1" "$tmp/m2" -- "$tmp/d1" "$tmp/d2" --format json >"$tmp/dgrep.json" || fail "diff dgemm x2 repeats: exit $?"
# repeats judge time: synthetic runs with the same calls, 1 us each in A, 2 us in B (exact)
for k in 1 2; do
    "$build/fakes/bigtrace" "$tmp/t1_$k.gstrace" 3000 2 0 1000 || fail "bigtrace failed"
    "$build/fakes/bigtrace" "$tmp/t2_$k.gstrace" 3000 2 0 2000 || fail "bigtrace failed"
done
"$ana" diff "$tmp/t1_1.gstrace" "$tmp/t2_1.gstrace" --format json >"$tmp/t1.json" || fail "diff slower calls: exit $?"
"$ana" diff "$tmp/t1_1.gstrace" "$tmp/t1_2.gstrace" -- "$tmp/t2_1.gstrace" "$tmp/t2_2.gstrace" --format json \
    >"$tmp/t2.json" || fail "diff slower calls, repeats: exit $?"
pycheck "$tmp/t1.json" "$tmp/t2.json" <<'PY' || exit 1
one, rep = load(sys.argv[1]), load(sys.argv[2])
g1 = {(r["kind"], r["name"]): r for r in one["rows"]}[("routine", "sgemm (cblas)")]
g2 = {(r["kind"], r["name"]): r for r in rep["rows"]}[("routine", "sgemm (cblas)")]
eq("slower calls, one run per side: sgemm", g1["verdict"], "differs")
eq("slower calls, repeats: sgemm", (g2["verdict"], g2["why"]), ("changed", "time, energy"))
eq("slower calls: time x2", round(g2["time_change"], 9), 1.0)
eq("slower calls: significant", (one["significant"], rep["significant"]), (False, True))
PY
grep -q "^no significant change (" "$tmp/same.txt" || { cat "$tmp/same.txt"; fail "two recordings of the demo MLP: a change"; }
grep -q "^noise: within-run only" "$tmp/same.txt" || fail "one run per side: the noise's basis is not said: $(grep noise "$tmp/same.txt")"
grep -q "^no significant change (" "$tmp/rep.txt" || { cat "$tmp/rep.txt"; fail "repeats of blas_mix: a change"; }
grep -q "^noise: measured from the repeats" "$tmp/rep.txt" || fail "repeats: the noise's basis is not said: $(grep noise "$tmp/rep.txt")"
grep -q "^3 of [0-9]* rows changed: 3 in work" "$tmp/dg.txt" || { cat "$tmp/dg.txt"; fail "dgemm x2: want 3 rows (the whole run, the dgemm layer and routine)"; }
grep -q "^routine  dgemm (cblas) .*changed (work)" "$tmp/dg.txt" || { cat "$tmp/dg.txt"; fail "dgemm x2: the dgemm row is not flagged"; }

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
    # each region holds one layer, which is a row of its own with the region's calls: four
    # times the calls, so every row changed in its work
    eq("A vs B %s verdict" % (key,), (r["verdict"], r["why"]), ("changed", "work"))
    if key[0] != "total":
        if abs(r["time_change"] - 3) > 1e-6:
            print("A vs B %s: time change %r, want +300%%" % (key, r["time_change"])); sys.exit(1)
        if abs(r["time_noise"] - 0.02) > 1e-9:
            print("A vs B %s: noise %r, want the floor 1%% + 1%%" % (key, r["time_noise"])); sys.exit(1)
print("diff: a run against itself shows no change; 4x the calls: every layer and sgemm +300%, beyond the noise")
PY
pycheck "$tmp/same_mix.json" "$tmp/rep.json" "$tmp/dg.json" "$tmp/dgrep.json" <<'PY' || exit 1
for f, basis in ((sys.argv[1], "within-run"), (sys.argv[2], "repeats")):
    s = load(f)
    eq(f + ": noise basis", s["noise_basis"], basis)
    eq(f + ": significant", s["significant"], False)
    eq(f + ": changed", s["changed"], 0)
    for r in s["rows"]:
        if r["verdict"] not in ("within noise", "differs"):
            print(f, r); sys.exit(1)
rep = load(sys.argv[2])
eq("repeats: runs of A", len(rep["runs_a"]), 2)
eq("repeats: runs of B", len(rep["runs_b"]), 2)
for f, basis in ((sys.argv[3], "within-run"), (sys.argv[4], "repeats")):
    d = load(f)
    eq(f + ": noise basis", d["noise_basis"], basis)
    eq(f + ": significant", d["significant"], True)
    rows = {(r["kind"], r["name"]): r for r in d["rows"]}
    g = rows[("routine", "dgemm (cblas)")]
    eq(f + ": dgemm verdict", (g["verdict"], g["why"]), ("changed", "work"))
    eq(f + ": dgemm calls", g["calls"], [20, 40])
    eq(f + ": dgemm FLOPs x2", g["flops"][1], 2 * g["flops"][0])
    for key in (("routine", "sgemv (cblas)"), ("routine", "dgemm (fortran)")):
        if rows[key]["verdict"] == "changed":
            print(f, "unchanged routine flagged:", rows[key]); sys.exit(1)
    eq(f + ": whole run", rows[("total", "whole run")]["verdict"], "changed")
    # the dgemm routine, its layer and the whole run: nothing else of the work changed
    eq(f + ": rows changed", sorted(k for k, r in rows.items() if r["verdict"] == "changed"),
       [("layer", "dgemm 32x24x16"), ("routine", "dgemm (cblas)"), ("total", "whole run")])
print("diff: two recordings of one program (once and twice per side) read no significant change; "
      "twice the dgemm calls flag dgemm and the whole run, nothing else")
PY
