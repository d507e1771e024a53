#!/usr/bin/env bash
# export --csv DIR round-trips into the JSON report's totals: per-routine
# calls/FLOPs/joules, shapes with their transposes (blas_mix calls one size
# with several transposes: they stay apart), layers + outside = the total
# energy, threads add up to the calls, the summary holds the same numbers
# digit for digit (both print %.9g), and power.csv integrates to the energy
# of the run's span.  The single-table `report --format csv` carries
# transposes and idle/net rows.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix" "$build/examples/mlp_train"

record "$tmp/mix" "$build/examples/blas_mix" >/dev/null || fail "blas_mix failed under the shim"
record "$tmp/mlp" "$build/examples/mlp_train" --steps 60 --batch 32 --regions >/dev/null || fail "mlp_train failed"
for r in mix mlp; do
    "$ana" export --csv "$tmp/$r.csv" "$tmp/$r" 2>"$tmp/$r.err" || fail "export --csv $r: exit $?: $(tail -3 "$tmp/$r.err")"
    report_json "$tmp/$r" "$tmp/$r.json" || fail "report $r: exit $?"
    "$ana" report --format csv "$tmp/$r" >"$tmp/$r.one.csv" || fail "report --format csv $r"
done
for f in summary ops shapes regions layers threads samples power kernels; do
    [ -s "$tmp/mlp.csv/$f.csv" ] || fail "export --csv wrote no $f.csv"
done
# a run with no GPU kernels: kernels.csv is its header alone (test_nvml_attrib.sh checks the rows)
[ "$(wc -l <"$tmp/mlp.csv/kernels.csv")" = 1 ] && head -1 "$tmp/mlp.csv/kernels.csv" | grep -q '^name,calls,time_s,energy_j,energy_err_j,' ||
    fail "kernels.csv of a CPU-only run: want the header row alone, got: $(head -3 "$tmp/mlp.csv/kernels.csv")"

pycheck "$tmp/mix.csv" "$tmp/mix.json" "$tmp/mix.one.csv" "$tmp/mlp.csv" "$tmp/mlp.json" <<'PY' || exit 1
import csv, os, collections
def rows(d, name):
    with open(os.path.join(d, name + ".csv"), newline="") as f:
        return list(csv.DictReader(f))
def close(what, got, want, rel=1e-8):
    if abs(got - want) > rel * max(1.0, abs(want)):
        print("%s: CSV %r, JSON %r" % (what, got, want)); sys.exit(1)
def roundtrip(d, r, name):
    o = rows(d, "ops")
    eq(name + ": ops calls", {(x["op"], x["api"]): int(x["calls"]) for x in o}, ops(r))
    close(name + ": ops energy", sum(float(x["energy_j"]) for x in o), sum(x["energy_j"] for x in r["ops"]))
    close(name + ": ops flops", sum(float(x["flops"]) for x in o), sum(x["flops"] for x in r["ops"]))
    s = rows(d, "shapes")
    got = collections.Counter()
    for x in s:
        got[(x["op"], x["api"], x["transa"], x["transb"], int(x["m"]), int(x["n"]), int(x["k"]))] += int(x["calls"])
    eq(name + ": shapes with transposes", dict(got), shapes(r))
    l = rows(d, "layers")
    close(name + ": layers + outside = total energy", sum(float(x["energy_j"]) for x in l), r["energy"]["total_j"], 1e-6)
    eq(name + ": layers", sorted(x["name"] for x in l if x["name"] != "outside intercepted calls"),
       sorted(x["name"] for x in r["layers"]))
    t = rows(d, "threads")
    eq(name + ": thread calls", sum(int(x["calls"]) for x in t), r["calls"])
    sm = {x["key"]: x["value"] for x in rows(d, "summary")}
    # the same digits as the JSON report
    raw = open(sys.argv[2] if name == "blas_mix" else sys.argv[5]).read()
    for key, path in (("total_energy", '"total_j": '), ("net_energy", '"net_j": '), ("duration", '"duration_s": ')):
        i = raw.index(path) + len(path)
        want = raw[i:].split(",")[0].split("}")[0].strip()
        eq(name + ": summary " + key + " digits", sm[key], want)
    p = rows(d, "power")
    if p and r["energy"]["provenance"] != "none":
        e = sum(float(x["power_w"]) * (float(x["t1_s"]) - float(x["t0_s"])) for x in p)
        if not 0.5 * r["energy"]["total_j"] <= e <= 1.0001 * r["energy"]["total_j"]:
            print(name, ": power bins integrate to", e, "J, total", r["energy"]["total_j"]); sys.exit(1)
    return s

s = roundtrip(sys.argv[1], load(sys.argv[2]), "blas_mix")
pairs = {(x["transa"], x["transb"]) for x in s}
if len(pairs) < 2:
    print("blas_mix: want several transpose pairs in shapes.csv, got", pairs); sys.exit(1)
# the single table: transposes and idle/net rows
with open(sys.argv[3], newline="") as f:
    one = list(csv.DictReader(f))
sh = collections.Counter()
for x in one:
    if x["table"] == "shape":
        sh[(x["name"], x["api"], x["transa"], x["transb"], int(x["m"]), int(x["n"]), int(x["k"]))] += int(x["calls"])
eq("report --format csv: shapes with transposes", dict(sh), shapes(load(sys.argv[2])))
names = {x["name"] for x in one if x["table"] == "energy"}
if not {"total", "idle", "net of idle"} <= names:
    print("report --format csv: energy rows", names); sys.exit(1)
roundtrip(sys.argv[4], load(sys.argv[5]), "mlp_train")
print("csv: routines, shapes (with transposes), layers, threads and summary round-trip into the JSON totals")
PY
