#!/usr/bin/env bash
# Numbers people read (issue 22 item 8):
#  - shape columns print '-' for a dimension the routine does not have
#    (gemv, symm, trmm, trsm: no k; syrk, herk, syr2k: no m), the number for
#    those it has, in text and HTML; JSON says which apply ("dims");
#  - dvfs on one trace: settings as whole kHz (3000000, not 3e+06), predicted
#    time and energy to 3 significant digits (an estimate is not good to 6).
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix" "$build/examples/mlp_train"
record "$tmp/mix" "$build/examples/blas_mix" --threads 1 >/dev/null || fail "blas_mix failed"
"$ana" report "$tmp/mix" >"$tmp/mix.txt" 2>&1 || fail "report failed"
"$ana" report "$tmp/mix" --format json >"$tmp/mix.json" 2>&1 || fail "json report failed"
"$ana" html "$tmp/mix" -o "$tmp/mix.html" 2>/dev/null || fail "html failed"
"$py" - "$tmp/mix.txt" "$tmp/mix.json" "$tmp/mix.html" <<'PY' || exit 1
import json, re, sys
txt = open(sys.argv[1]).read().splitlines()
r = json.load(open(sys.argv[2]))
html = open(sys.argv[3]).read()
want = {  # routine: (m, n, k) as the text prints them
    "sgemv": ("50", "40", "-"), "dgemv": ("11", "13", "-"), "dsymm": ("5", "8", "-"), "chemm": ("7", "3", "-"),
    "ctrmm": ("4", "6", "-"), "dtrsm": ("9", "5", "-"), "ssyrk": ("-", "12", "7"), "zherk": ("-", "6", "9"),
    "ssyr2k": ("-", "10", "3"), "dgemm": None, "zgemm": ("6", "5", "4"),
}
start = [i for i, l in enumerate(txt) if l.startswith("shapes (")][0]
rows = {}
for l in txt[start + 2:]:
    if not l.strip():
        break
    f = l.split()
    if f[0] in want and len(f) >= 6:
        rows.setdefault(f[0], []).append(tuple(f[3:6]))
for op, dims in want.items():
    if op not in rows:
        print("shapes: no row for", op, "in\n" + "\n".join(txt[start:start + 20])); sys.exit(1)
    if dims and dims not in rows[op]:
        print("shapes: %s printed as %r, want %r" % (op, rows[op], dims)); sys.exit(1)
if any("-" in d for d in rows["dgemm"]):
    print("dgemm: a dimension printed as '-'", rows["dgemm"]); sys.exit(1)
dims = {s["op"]: s["dims"] for s in r["shapes"]}
for op, d in (("sgemv", "mn"), ("ssyrk", "nk"), ("dtrsm", "mn"), ("dgemm", "mnk")):
    if dims.get(op) != d:
        print("json dims of %s: %r, want %r" % (op, dims.get(op), d)); sys.exit(1)
if not re.search(r"<td class=l>sgemv</td><td class=l>cblas</td><td class=l>NN</td><td>50</td><td>40</td><td>-</td>", html):
    print("html: sgemv's k is not '-'"); sys.exit(1)
print("shapes: '-' where a routine has no such dimension")
PY

record "$tmp/run" "$build/examples/mlp_train" --steps 40 --batch 64 --quiet || fail "mlp_train failed"
"$ana" dvfs "$tmp/run" --candidates 1200000:3000000:100000 >"$tmp/dvfs.txt" 2>&1 || fail "dvfs failed: $(cat "$tmp/dvfs.txt")"
grep -q "e+0" "$tmp/dvfs.txt" && fail "dvfs: a figure in e+ notation: $(grep 'e+0' "$tmp/dvfs.txt")"
"$py" - "$tmp/dvfs.txt" <<'PY' || exit 1
import re, sys
lines = open(sys.argv[1]).read().splitlines()
head = [i for i, l in enumerate(lines) if l.startswith("knob ")][0]
n = 0
for l in lines[head + 1:]:
    if not l.strip():
        break
    m = re.match(r"(\S+)\s+(.*?)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+(estimated|fitted|measured)\s", l)
    if not m:
        print("dvfs row not as expected:", l); sys.exit(1)
    base, rec, t, e = m.group(3), m.group(4), m.group(5), m.group(6)
    if not (1200000 <= int(base) <= 3000000 and 1200000 <= int(rec) <= 3000000):
        print("dvfs settings not in kHz:", l); sys.exit(1)
    for v in (t, e):
        digits = re.sub(r"^0\.0*|\.|e.*$", "", v).lstrip("0")
        if len(digits) > 3:
            print("dvfs prediction %s has more than 3 significant digits: %s" % (v, l)); sys.exit(1)
    n += 1
best = [l for l in lines if "best static cap" in l]
if best and not re.search(r"best static cap \d+: \S+ J predicted", best[0]):
    print("best static cap line:", best[0]); sys.exit(1)
if not n:
    print("no dvfs rows"); sys.exit(1)
print("dvfs: %d rows, settings in whole kHz, predictions to 3 digits" % n)
PY
echo "text formats: shapes '-', dvfs whole kHz and 3 digits"
