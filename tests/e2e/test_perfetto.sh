#!/usr/bin/env bash
# export --perfetto: golden checks of the trace-event JSON structure on real
# runs (blas_mix: 4 threads, both APIs, ten routines; mlp_train with
# regions; blas_mix --fork: two processes):
#   valid JSON (python json and json.tool); every slice is an "X" with a
#   duration >= 0 or a B/E pair that matches on its thread; counter tracks
#   monotonic in time; exactly one slice per intercepted call, per routine
#   and per thread, the same counts as the JSON report; shapes and joules in
#   the args add up to the report; regions enclose their calls; the two
#   processes of one run share one time axis (the child's calls start after
#   the fork, inside the parent's span).  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix" "$build/examples/mlp_train"

record "$tmp/mix" "$build/examples/blas_mix" >/dev/null || fail "blas_mix failed under the shim"
record "$tmp/mlp" "$build/examples/mlp_train" --steps 40 --batch 32 --regions >/dev/null || fail "mlp_train failed"
record "$tmp/fork" "$build/examples/blas_mix" --fork >/dev/null || fail "blas_mix --fork failed"
for r in mix mlp fork; do
    "$ana" export --perfetto "$tmp/$r.pf.json" "$tmp/$r" 2>"$tmp/$r.err" || fail "export $r: exit $?: $(tail -3 "$tmp/$r.err")"
    "$py" -m json.tool "$tmp/$r.pf.json" >/dev/null || fail "$r: python -m json.tool rejects the export"
    report_json "$tmp/$r" "$tmp/$r.json" || fail "report $r: exit $?"
done
# the same exporter through the report verb's --export
"$ana" report --export perfetto="$tmp/mlp2.pf.json" "$tmp/mlp" >/dev/null || fail "report --export perfetto failed"

pycheck "$tmp/mix.pf.json" "$tmp/mix.json" "$tmp/mlp.pf.json" "$tmp/mlp.json" "$tmp/fork.pf.json" "$tmp/fork.json" \
        "$tmp/mlp2.pf.json" <<'PY' || exit 1
import collections
def check(pf, rep, name):
    t = load(pf)
    r = load(rep)
    ev = t["traceEvents"]
    xs = [e for e in ev if e["ph"] == "X" and e.get("cat") == "blas"]   # GPU kernels/API: unit test
    # one slice per intercepted call, per routine, per thread
    eq(name + ": slices", len(xs), r["calls"])
    by_op = collections.Counter((e["name"], e["args"]["api"]) for e in xs)
    eq(name + ": slices per routine", dict(by_op), ops(r))
    by_tid = collections.Counter((e["pid"], e["tid"]) for e in xs)
    want = {(t_["pid"], t_["tid"]): t_["calls"] for t_ in r["threads_view"] if t_["calls"]}
    eq(name + ": slices per thread", dict(by_tid), want)
    # shapes and joules as args add up to the report
    sh = collections.Counter()
    for e in xs:
        a = e["args"]
        sh[(e["name"], a["api"], a["tr"][0], a["tr"][1], a["m"], a["n"], a["k"])] += 1
    eq(name + ": shapes", dict(sh), shapes(r))
    ej = sum(e["args"]["energy_j"] for e in xs)
    ecalls = sum(o["energy_j"] for o in r["ops"])
    if abs(ej - ecalls) > 1e-6 * max(1.0, ecalls):
        print(name, ": joules in slices", ej, "!= report", ecalls); sys.exit(1)
    for e in xs:
        if not (isinstance(e["dur"], (int, float)) and e["dur"] >= 0 and e["ts"] >= 0):
            print(name, ": bad slice", e); sys.exit(1)
    # B/E match per thread, in time order
    stacks = collections.defaultdict(list)
    for e in sorted((e for e in ev if e["ph"] in "BE"), key=lambda e: (e["ts"], e["ph"] == "B")):
        k = (e["pid"], e["tid"])
        if e["ph"] == "B":
            stacks[k].append(e)
        else:
            if not stacks[k]:
                print(name, ": E without B on", k, e); sys.exit(1)
            b = stacks[k].pop()
            if e["ts"] < b["ts"]:
                print(name, ": E before its B", b, e); sys.exit(1)
    if any(stacks.values()):
        print(name, ": B without E:", {k: len(v) for k, v in stacks.items() if v}); sys.exit(1)
    # counter tracks: numbers, monotonic time per track
    last = {}
    nc = 0
    for e in ev:
        if e["ph"] != "C":
            continue
        nc += 1
        k = (e["pid"], e["name"])
        v = list(e["args"].values())[0]
        if not isinstance(v, (int, float)) or v < 0:
            print(name, ": bad counter value", e); sys.exit(1)
        if k in last and e["ts"] < last[k]:
            print(name, ": counter track goes back in time", k, last[k], e["ts"]); sys.exit(1)
        last[k] = e["ts"]
    # every process and thread with calls is named
    names = {(e["pid"], e.get("tid")) for e in ev if e["ph"] == "M"}
    for pid, tid in by_tid:
        if (pid, None) not in names or (pid, tid) not in names:
            print(name, ": unnamed track", pid, tid); sys.exit(1)
    return t, xs, nc

check(sys.argv[1], sys.argv[2], "blas_mix")
t, xs, nc = check(sys.argv[3], sys.argv[4], "mlp_train")
if nc < 2:
    print("mlp_train: want a power counter track, got", nc, "counter events"); sys.exit(1)
# regions enclose their calls: every call of fc1's layer (named "fc1" or
# "fc1 <detected name>") lies inside an fc1 B/E pair
ev = t["traceEvents"]
def fc1(x):
    return str(x["args"].get("layer", "")).split(" ")[0] == "fc1"
spans = []
st = []
for e in sorted((e for e in ev if e["ph"] in "BE"), key=lambda e: (e["ts"], e["ph"] == "B")):
    if e["ph"] == "B": st.append(e)
    else:
        b = st.pop(); spans.append((b["name"], b["ts"], e["ts"]))
inside = sum(1 for x in xs if fc1(x) and
             any(n == "fc1" and s <= x["ts"] and x["ts"] + x["dur"] <= f + 0.002 for n, s, f in spans))
nfc1 = sum(1 for x in xs if fc1(x))
eq("fc1 calls inside an fc1 region slice", inside, nfc1)
if nfc1 == 0:
    print("no call carries layer fc1"); sys.exit(1)
# two processes on one time axis
t, xs, nc = check(sys.argv[5], sys.argv[6], "fork")
pids = sorted({x["pid"] for x in xs})
eq("fork: processes with slices", len(pids), 2)
child = max(pids, key=lambda p: min(x["ts"] for x in xs if x["pid"] == p))
parent = [p for p in pids if p != child][0]
pfirst = min(x["ts"] for x in xs if x["pid"] == parent)
cfirst = min(x["ts"] for x in xs if x["pid"] == child)
plast = max(x["ts"] + x["dur"] for x in xs if x["pid"] == parent)
if not (pfirst < cfirst < plast + 1e6):
    print("fork: the child's calls are not on the parent's time axis", pfirst, cfirst, plast); sys.exit(1)
# report --export gives the same slices
a = load(sys.argv[7])["traceEvents"]
eq("report --export perfetto: slices", sum(1 for e in a if e["ph"] == "X"), load(sys.argv[4])["calls"])
print("perfetto: one slice per call in 3 runs, B/E matched, counters monotonic, processes aligned")
PY
