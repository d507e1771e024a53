#!/usr/bin/env bash
# The program's names win (docs/analyzer.md, "Regions and layers"): a region
# whose calls hold at most one detected layer is a layer row of its own.
#  - prog_regions_shape: the same sgemm 96x96x96 in GREENSHIM_REGION_PUSH
#    "phaseA" (30 calls) and "phaseB" (50), 10 sgemm 64x64x64 outside:
#    rows phaseA, phaseB (source region) and sgemm 64x64x64 (detected);
#    rows + outside reconcile with the total; the same rows in CSV, HTML,
#    Perfetto (region slices carry the layer) and diff; with 40 more
#    regions the text table stops at 30 rows ("(14 more layers)").
#  - gpu_nvtx_names (real NVTX3 headers, the shim as injection library):
#    encoder (120 sgemm 128), decoder (80 sgemm 64), decoder/attn nested in
#    it (40 sgemm 32), a start/end range tail (20 sgemm 48), source nvtx.
#  - prog_colmajor: an R-style loop, Fortran dgemm_ on column-major data from
#    plain C, 5 calls x 300 steps: 300 iterations, linear 100→64, 64→10.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/progs/prog_regions_shape" "$build/progs/prog_colmajor"

record "$tmp/s" "$build/progs/prog_regions_shape" 30 50 10 >/dev/null || fail "prog_regions_shape failed under the shim"
report_json "$tmp/s" "$tmp/s.json" || fail "analyzer exit $?: $(tail -3 "$tmp/s.json.err")"
"$ana" report "$tmp/s" --format csv >"$tmp/s.csv" || fail "csv report failed"
"$ana" report "$tmp/s" --format html -o "$tmp/s.html" || fail "html report failed"
"$ana" export --perfetto "$tmp/s.pf.json" "$tmp/s" || fail "perfetto export failed"
"$ana" diff "$tmp/s" "$tmp/s" --format json >"$tmp/d.json" || fail "diff failed"
pycheck "$tmp/s.json" "$tmp/s.csv" "$tmp/s.html" "$tmp/s.pf.json" "$tmp/d.json" <<'PY' || exit 1
import csv
r = load(sys.argv[1])
rows = {l["name"]: (l["source"], l["calls"]) for l in r["layers"]}
eq("layer rows", rows, {"phaseA": ("region", 30), "phaseB": ("region", 50), "sgemm 64x64x64": ("detected", 10)})
eq("layers from", r["layers_from"], "regions")
tot = sum(l["energy_j"] for l in r["layers"]) + r["outside"]["energy_j"]
# each JSON number carries 9 significant digits: the sum may be off by half a unit per row
if abs(tot - r["energy"]["total_j"]) > 5e-9 * (len(r["layers"]) + 2) * max(1e-3, r["energy"]["total_j"]):
    print("layers + outside = %r J, total %r J" % (tot, r["energy"]["total_j"])); sys.exit(1)
eq("reconciled", r["energy"]["reconciled"], True)
fl = {l["name"]: l["flops"] for l in r["layers"]}
eq("phaseA FLOPs", fl["phaseA"], 30 * 2 * 96 ** 3)
c = {(x["name"], x["api"]): int(x["calls"]) for x in csv.DictReader(open(sys.argv[2])) if x["table"] == "layer"}
eq("CSV layer rows (name, source)", c, {("phaseA", "region"): 30, ("phaseB", "region"): 50,
                                        ("sgemm 64x64x64", "detected"): 10})
html = open(sys.argv[3]).read()
for n in ("phaseA", "phaseB", "sgemm 64x64x64"):
    if n not in html:
        print("HTML lacks the layer %r" % n); sys.exit(1)
pf = load(sys.argv[4])
ev = pf["traceEvents"] if isinstance(pf, dict) else pf
sl = {(e["name"], e.get("args", {}).get("layer")) for e in ev if e.get("cat") == "region" and e.get("ph") == "B"}
eq("Perfetto region slices carry their layer", sl, {("phaseA", "phaseA"), ("phaseB", "phaseB")})
d = load(sys.argv[5])
eq("diff layer rows", sorted(x["name"] for x in d["rows"] if x["kind"] == "layer" and not x["name"].startswith("outside")),
   ["phaseA", "phaseB", "sgemm 64x64x64"])
PY
"$ana" report "$tmp/s" | grep -q "^phaseA  *region  *30 " || fail "text report: no 'phaseA region 30' row"
# 40 more regions: the text table shows 29 rows and one "(14 more layers)"
# row with the rest summed (JSON keeps all 43)
record "$tmp/m" "$build/progs/prog_regions_shape" 30 50 10 40 >/dev/null || fail "prog_regions_shape (40 regions) failed"
report_json "$tmp/m" "$tmp/m.json" || fail "analyzer exit $?"
"$ana" report "$tmp/m" >"$tmp/m.txt" || fail "text report failed"
pycheck "$tmp/m.json" "$tmp/m.txt" <<'PY' || exit 1
r = load(sys.argv[1])
eq("JSON layer rows", len(r["layers"]), 43)
txt = open(sys.argv[2]).read().split("\nlayers (")[1].split("\n\n")[0].splitlines()
rows = [l for l in txt[2:] if not l.startswith("outside")]
eq("text layer rows", len(rows), 30)
more = [l.split() for l in rows if l.startswith("(14 more layers)")]
eq("the rest in one row", len(more), 1)
eq("its calls: the rest of the JSON rows", int(more[0][3]), sum(l["calls"] for l in r["layers"][29:]))
PY

record "$tmp/c" "$build/progs/prog_colmajor" 300 >/dev/null || fail "prog_colmajor failed under the shim"
report_json "$tmp/c" "$tmp/c.json" || fail "analyzer exit $?: $(tail -3 "$tmp/c.json.err")"
pycheck "$tmp/c.json" <<'PY' || exit 1
r = load(sys.argv[1])
eq("calls", ops(r), {("dgemm", "fortran"): 1500})
eq("iterations", r["iterations"], 300)
eq("column-major layers", {l["name"]: (l["source"], l["calls"]) for l in r["layers"]},
   {"linear 100\u219264": ("detected", 600), "linear 64\u219210": ("detected", 900)})
PY

if [ -x "$build/gpu/gpu_nvtx_names" ]; then
    record "$tmp/n" "$build/gpu/gpu_nvtx_names" >/dev/null || fail "gpu_nvtx_names failed under the shim"
    report_json "$tmp/n" "$tmp/n.json" || fail "analyzer exit $?: $(tail -3 "$tmp/n.json.err")"
    pycheck "$tmp/n.json" <<'PY' || exit 1
r = load(sys.argv[1])
rows = {l["name"]: (l["source"], l["calls"]) for l in r["layers"] if l["calls"]}
eq("NVTX rows", rows, {"encoder": ("nvtx", 120), "decoder": ("nvtx", 80), "decoder/attn": ("nvtx", 40),
                       "tail": ("nvtx", 20)})
PY
    echo "layer names: C regions phaseA/phaseB are rows of their own; NVTX ranges by path; R-style dgemm_ 300 iterations"
else
    echo "layer names: C regions phaseA/phaseB are rows of their own; R-style dgemm_ 300 iterations (no NVTX3 headers: NVTX part not built)"
fi
