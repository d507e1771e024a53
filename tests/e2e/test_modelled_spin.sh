#!/usr/bin/env bash
# Modelled energy and BLAS threads (issue 22 item 6).  Modelled energy is
# CPU time x watts: BLAS threads spin-waiting for work count as energy, so
# one program's modelled joules vary ~3x with BLAS threads and load.
#  - the recorder writes blas.threads (asked of OpenBLAS) in the header;
#  - with 2 BLAS threads and modelled energy the report says so (text and
#    JSON energy.model.spin_note); with 1 it does not;
#  - diff does not judge modelled energy: the same program with 10x the
#    watts per core (energy x10, same work and time) reads "no significant
#    change", one run per side and with repeats, and says energy is not judged.
# Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"
mlp=$build/examples/mlp_train
[ -e /sys/class/powercap/intel-rapl ] && skip "RAPL present: energy is measured here, not modelled"

OPENBLAS_NUM_THREADS=2 record "$tmp/t2" "$mlp" --steps 40 --batch 64 --quiet || fail "mlp_train (2 threads) failed"
OPENBLAS_NUM_THREADS=1 record "$tmp/t1" "$mlp" --steps 40 --batch 64 --quiet || fail "mlp_train (1 thread) failed"
"$ana" info "$tmp"/t2/*.gstrace | grep -q "^blas.threads: 2 (openblas_get_num_threads)" ||
    fail "header: no blas.threads 2: $("$ana" info "$tmp"/t2/*.gstrace | grep blas)"
"$ana" report "$tmp/t2" >"$tmp/t2.txt" 2>&1 || fail "report failed"
"$ana" report "$tmp/t1" >"$tmp/t1.txt" 2>&1 || fail "report failed"
grep -q "modelled energy counts CPU time, BLAS threads spin-waiting for work included (2 BLAS threads" "$tmp/t2.txt" ||
    fail "2 BLAS threads, modelled: no spin-waiting note: $(grep -A3 '^energy' "$tmp/t2.txt")"
grep -q "spin-waiting" "$tmp/t1.txt" && fail "1 BLAS thread: a spin-waiting note: $(grep spin "$tmp/t1.txt")"
report_json "$tmp/t2" "$tmp/t2.json" || fail "json report failed"
pycheck "$tmp/t2.json" <<'PY' || exit 1
m = load(sys.argv[1])["energy"]["model"]
eq("blas_threads", m["blas_threads"], 2)
if "spin-waiting" not in (m["spin_note"] or ""):
    print("no spin_note:", m); sys.exit(1)
PY

# energy x10 by the model alone: not a change
for k in 1 2; do
    OPENBLAS_NUM_THREADS=1 GREENSHIM_CPU_WATTS_PER_CORE=5 record "$tmp/a$k" "$mlp" --steps 40 --batch 64 --quiet || fail "run failed"
    OPENBLAS_NUM_THREADS=1 GREENSHIM_CPU_WATTS_PER_CORE=50 record "$tmp/b$k" "$mlp" --steps 40 --batch 64 --quiet || fail "run failed"
done
"$ana" diff "$tmp/a1" "$tmp/b1" >"$tmp/d1.txt" || fail "diff failed"
"$ana" diff "$tmp/a1" "$tmp/a2" -- "$tmp/b1" "$tmp/b2" --format json >"$tmp/d2.json" || fail "diff with repeats failed"
grep -q "^energy modelled (CPU time x watts): it counts BLAS threads spin-waiting" "$tmp/d1.txt" ||
    fail "diff: modelled energy not said to be left out of the verdict: $(head -5 "$tmp/d1.txt")"
grep -q "^no significant change (" "$tmp/d1.txt" || { cat "$tmp/d1.txt"; fail "diff: modelled energy x10 judged a change"; }
pycheck "$tmp/d2.json" <<'PY' || exit 1
d = load(sys.argv[1])
eq("energy_judged", d["energy_judged"], False)
tot = [r for r in d["rows"] if r["kind"] == "total"][0]
if not tot["energy_change"] > 5:
    print("the model's watts did not show in the energy:", tot); sys.exit(1)
eq("repeats, energy x10 by the model: significant", d["significant"], False)
print("modelled energy x%.1f, same work: no significant change" % (1 + tot["energy_change"]))
PY
echo "modelled energy: spin-waiting said with 2 BLAS threads, not with 1; diff does not judge modelled energy"
