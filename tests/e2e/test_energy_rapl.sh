#!/usr/bin/env bash
# Measured energy end to end through the real libpowercap: a synthetic RAPL
# tree (tests/fakes/fake_powercap) on a tmpfs over /sys/class inside a
# private mount namespace; phase_trainer plays a power profile on its own
# clock (each phase at least its length from when it really began: a loaded
# machine stretches phases, never skips them), running sgemm regions under
# the shim and setting the power the fake integrates into energy_uj.  The
# analyzer's per-region energy must match what the counter itself said over
# each region (the writer's log of every value it wrote, interpolated
# between its updates) within 2% (phases >= 10 ms), or within the energy of
# the counter updates that hold the region's boundaries where the writer was
# held up longer than that (no reader can place energy a counter did not
# show yet); measured, from RAPL, reconciled.  GS_ENERGY_CASE picks the case
# (test_energy_wrap.sh, test_energy_phases.sh and test_energy_unreadable.sh set it):
#   normal      counter far from its wrap
#   wrap        max_energy_range_uj = 4 J, so the counter wraps (at 60 W every 67 ms: a
#               1 J range wrapped every 16 ms, faster than a loaded machine may run the
#               sampler thread, and no reader can count wraps it did not see)
#   phases100   20 W / 65 W phases of 100 ms with 5 W between, at the
#               sampler's own default rate (no GREENSHIM_SAMPLE_HZ): region
#               energy exact at the boundaries (power steps where a region
#               starts or ends), every phase within 2%
#   phases100wrap  the same with max_energy_range_uj = 8 J (wraps ~3 times,
#               every 123 ms at 65 W: a sampler that a loaded machine stalls
#               for longer than a wrap period cannot count the wraps it missed)
#   unreadable  energy_uj mode 0000 and the trainer run as root without
#               CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv), which gets
#               EACCES like a user on a kernel with root-only energy_uj:
#               one greenshim line on stderr, energy modelled.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).  $1: repo root (optional).
set -u
case_=${GS_ENERGY_CASE:-normal}
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
root=$(cd "$root" && pwd)
b=$root/build
for f in "$b/libgreenshim.so" "$b/greenshim-analyze" "$b/fakes/fake_powercap" "$b/fakes/phase_trainer"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f: run make first"; exit 1; }
done
if ! unshare -m true 2>/dev/null; then
    echo "skip: unshare -m not permitted here (needs root or user namespaces): cannot mount a fake /sys/class/powercap"
    exit 77
fi
if [ "$case_" = unreadable ] && ! setpriv --bounding-set=-dac_override true 2>/dev/null; then
    echo "skip: cannot drop CAP_DAC_OVERRIDE with setpriv here (util-linux setpriv missing, or not root)"
    exit 77
fi
py=/usr/bin/python3
[ -x $py ] || py=python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# gaps at 5 W (idle), sgemm phases of 10..40 ms at 25..60 W, sampled at 5 kHz
profile="60:5,10:30:r,10:5,20:45:r,15:5,40:25:r,10:5,10:60:r,25:5,15:35:r,40:5"
hz=5000
case $case_ in
    phases100*)
        profile="60:5,100:20:r,100:5,100:65:r,100:5,100:20:r,100:5,100:65:r,100:5,100:20:r,60:5"
        hz= ;;                          # the sampler's self-chosen default rate
esac
wopts=()
# the writer updates energy_uj every 50 us (RAPL: ~1 ms): the test then measures
# the attribution, not the staircase of a slow fake counter
case $case_ in
    normal)     wopts=(--initial 123456789) ;;
    wrap)       wopts=(--max-range 4000000 --initial 3900000) ;;
    phases100)  wopts=(--initial 123456789) ;;
    phases100wrap) wopts=(--max-range 8000000 --initial 7900000) ;;
    unreadable) wopts=(--unreadable) ;;
    *) echo "unknown GS_ENERGY_CASE=$case_"; exit 1 ;;
esac
run=()
[ "$case_" = unreadable ] && run=(setpriv --inh-caps=-dac_override,-dac_read_search
                                    --bounding-set=-dac_override,-dac_read_search --)

cat >"$tmp/ns.sh" <<'NS'
set -u
mount --make-rprivate / && mount -t tmpfs greenshim-fake /sys/class || { echo "mount failed"; exit 3; }
# the writer stands in for hardware that never stalls: give it real-time
# priority where allowed so a busy machine cannot make it lag the profile
rt=(); chrt -f 10 true 2>/dev/null && rt=(chrt -f 10)
"${rt[@]}" "$B/fakes/fake_powercap" /sys/class/powercap --follow "$TMP/follow" --log "$TMP/counter.log" \
    --idle 5 --ready "$TMP/ready" --period-us 50 $WOPTS &
w=$!
for _ in $(seq 200); do [ -f "$TMP/ready" ] && break; sleep 0.01; done
[ -f "$TMP/ready" ] || { echo "fake_powercap did not start"; kill $w; exit 3; }
# LD_PRELOAD set by env after setpriv: only the trainer is traced
"$@" env OPENBLAS_NUM_THREADS=1 LD_PRELOAD="$B/libgreenshim.so" GREENSHIM_OUT="$TMP/out" \
    ${HZ:+GREENSHIM_SAMPLE_HZ=$HZ} "$B/fakes/phase_trainer" --ready "$TMP/ready" --follow "$TMP/follow" \
    --profile "$PROFILE" --idle 5 --n 128 --truth "$TMP/truth.json" 2>"$TMP/stderr"
rc=$?
kill $w; wait $w 2>/dev/null || { echo "fake_powercap failed"; exit 3; }
exit $rc
NS
B=$b TMP=$tmp HZ=$hz PROFILE=$profile WOPTS="${wopts[*]}" unshare -m bash "$tmp/ns.sh" ${run[@]+"${run[@]}"}
rc=$?
[ $rc -eq 0 ] || { echo "traced trainer failed (rc $rc):"; cat "$tmp/stderr" 2>/dev/null; exit 1; }
[ -n "${GS_KEEP:-}" ] && trap - EXIT && echo "kept $tmp"
"$b/greenshim-analyze" report "$tmp/out" --format json >"$tmp/r.json" 2>"$tmp/ana.err" ||
    { echo "analyzer failed:"; cat "$tmp/ana.err"; exit 1; }
"$b/greenshim-analyze" dump "$tmp"/out/*.gstrace >"$tmp/dump.txt" 2>"$tmp/ana.err" ||
    { echo "analyzer dump failed:"; cat "$tmp/ana.err"; exit 1; }

CASE=$case_ $py - "$tmp/r.json" "$tmp/truth.json" "$tmp/stderr" "$tmp/counter.log" "$tmp/dump.txt" <<'PY' || exit 1
import bisect, json, os, re, struct, sys
r = json.load(open(sys.argv[1]))
truth = json.load(open(sys.argv[2]))["regions"]
err = open(sys.argv[3]).read().splitlines()
case = os.environ["CASE"]
e = r["energy"]
fails = []
def check(ok, what):
    if not ok:
        fails.append(what)
regions = {x["name"].split("/")[-1]: x for x in r["regions"]}
# the energy series starts before the first intercepted call returns (the
# recorder reads every domain once as it starts, on the program's thread):
# no call or region before the first sample, none left with no energy
first_call = first_sample = None
for line in open(sys.argv[5]):
    m = re.search(r" CALL .* t0=(\d+)", line)
    if m and first_call is None:
        first_call = int(m.group(1))
    m = re.search(r" SAMPLE kind=[12] domain=0\(\S+\) t=(\d+)", line)
    if m and (first_sample is None or int(m.group(1)) < first_sample):
        first_sample = int(m.group(1))
check(first_call is not None and first_sample is not None and first_sample <= first_call,
      "first energy sample at %s, after the first call at %s" % (first_sample, first_call))
check(regions.get("warmup", {}).get("energy_j", 0) > 0, "the first region (warmup) got no energy")
rapl_lines = [l for l in err if l.startswith("greenshim:") and "RAPL" in l]
if case == "unreadable":
    check(len(rapl_lines) == 1 and "RAPL energy_uj not readable (permission denied)" in rapl_lines[0],
          "want one 'RAPL energy_uj not readable (permission denied)' line, got %r" % rapl_lines)
    check(e["provenance"] == "modelled", "provenance %r, want modelled" % e["provenance"])
    check(e["source"] == "model", "source %r, want model" % e["source"])
    for t in truth:
        g = regions.get(t["name"])
        check(g is not None and g["energy_j"] > 0, "%s: no modelled energy" % t["name"])
else:
    check(not rapl_lines, "unexpected RAPL lines on stderr: %r" % rapl_lines)
    check(e["provenance"] == "measured", "provenance %r, want measured" % e["provenance"])
    check(e["source"] == "rapl", "source %r, want rapl" % e["source"])
    check(len(truth) == 5, "trainer ran %d phases, want 5" % len(truth))
    # what the counter said: value v_k visible from t_after_k on; between
    # updates the energy is interpolated, and an update's own step is what
    # no reader can place within it
    raw = open(sys.argv[4], "rb").read()
    log = list(struct.iter_unpack("<qqd", raw))
    lt = [x[1] for x in log]
    lv = [x[2] for x in log]
    def energy(t):
        k = bisect.bisect_right(lt, t) - 1
        if k < 0 or k + 1 >= len(lt):
            return lv[max(0, min(k, len(lv) - 1))]
        return lv[k] + (lv[k + 1] - lv[k]) * (t - lt[k]) / (lt[k + 1] - lt[k])
    def step(a, b):
        """the energy of the counter updates that hold [a, b]: where it was"""
        k0 = max(0, bisect.bisect_right(lt, a) - 1)
        k1 = min(len(lv) - 1, bisect.bisect_left(lt, b))
        return (lv[k1] - lv[k0]) * 1e-6
    for t in truth:
        g = regions.get(t["name"])
        if g is None:
            check(False, "%s missing from the report" % t["name"]); continue
        # the truth brackets the push and pop calls (the recorder stamps the
        # boundary inside them): the error is to the nearest of the two
        outer = (energy(t["t1_ns"]) - energy(t["t0_ns"])) * 1e-6
        inner = (energy(t["t1a_ns"]) - energy(t["t0b_ns"])) * 1e-6
        lo, hi = sorted((inner, outer))
        ref = lo if g["energy_j"] < lo else hi if g["energy_j"] > hi else g["energy_j"]
        rel = (g["energy_j"] - ref) / ref
        # the writer held up at a boundary (a loaded machine): its late update
        # is energy no reader could place before the update
        q = step(t["t0_ns"], t["t0b_ns"]) + step(t["t1a_ns"], t["t1_ns"])
        tol = max(0.02, q / ref)
        print("%-7s %5.1f ms  counter %.4f J  report %.4f J  %+.2f%%  (allowed %.2f%%)" %
              (t["name"], t["time_s"] * 1e3, outer, g["energy_j"], rel * 100, tol * 100))
        check(t["time_s"] >= t["phase_s"], "%s lasted %.1f ms, under its %.0f ms" %
              (t["name"], t["time_s"] * 1e3, t["phase_s"] * 1e3))
        check(abs(rel) <= tol, "%s energy off by %+.2f%% (allowed %.2f%%)" % (t["name"], rel * 100, tol * 100))
check(e.get("reconciled") is True, "energy not reconciled")
parts = sum(x["energy_j"] for x in r["regions"]) + r["outside"]["energy_j"]
check(abs(parts - e["total_j"]) <= 1e-6 * max(1.0, abs(e["total_j"])),
      "regions + outside = %.6f J != total %.6f J" % (parts, e["total_j"]))
if fails:
    print("FAIL (%s): " % case + "; ".join(fails))
    sys.exit(1)
print("energy %s case: %d regions checked, provenance %s, source %s, total %.3f J; sampler %.0f Hz, %.3f%% of a core"
      % (case, len(truth), e["provenance"], e["source"], e["total_j"], r.get("sampler", {}).get("hz") or 0,
         100 * (r.get("sampler", {}).get("cpu_share") or 0)))
PY
