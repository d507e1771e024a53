# common.sh - sourced by the end-to-end tests (tests/e2e/test_*.sh).
# Sets root, build, lib, ana, py, tmp (removed at exit) and gives
# (GS_TEST_LIB / GS_TEST_ANALYZE override lib and ana):
#   need FILE...           exit 1 (fail) naming the first missing build output
#   skip REASON            print "skip: REASON", exit 77
#   fail MESSAGE           print MESSAGE, exit 1
#   record DIR CMD...      run CMD under the recorder, traces in DIR
#   report_json SRC OUT    greenshim-analyze report SRC --format json > OUT
#                          (stderr in OUT.err); returns the analyzer's status
#   pycheck FILE... <<PY   run a python check (stdlib only) with sys.argv = FILEs;
#                          the prelude gives load(path), ops(r), shapes(r) helpers
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
build=$root/build
lib=${GS_TEST_LIB:-$build/libgreenshim.so}
ana=${GS_TEST_ANALYZE:-$build/greenshim-analyze}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gs-e2e.XXXXXX")
# GS_KEEP_TMP=1 keeps the scratch directory (its path on stderr) for a look after a failure
trap 'if [ -n "${GS_KEEP_TMP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi' EXIT
# a clean recorder environment: no inherited settings, no rank suffixes, no
# launcher's job (make check inside a Slurm job or under mpirun: each test's
# processes would join that job, docs/distributed.md)
unset GREENSHIM GREENSHIM_OUT GREENSHIM_EVENTS GREENSHIM_CLOCK LD_PRELOAD \
      RANK LOCAL_RANK WORLD_SIZE MASTER_ADDR MASTER_PORT TORCHELASTIC_RUN_ID \
      OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_LOCAL_RANK OMPI_COMM_WORLD_SIZE OMPI_MCA_ess_base_jobid \
      PMI_RANK PMI_SIZE PMIX_RANK PMIX_NAMESPACE MPI_LOCALRANKID \
      SLURM_PROCID SLURM_LOCALID SLURM_NTASKS SLURM_JOB_ID SLURM_JOBID SLURM_STEP_ID SLURMD_NODENAME \
      SLURM_NODEID 2>/dev/null || true
export GREENSHIM_QUIET=1

need() {
    for f; do
        [ -e "$f" ] || { echo "missing $f: run make all first"; exit 1; }
    done
}
skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

record() {
    local out=$1
    shift
    LD_PRELOAD="$lib" GREENSHIM_OUT="$out" "$@"
}

report_json() {
    "$ana" report "$1" --format json >"$2" 2>"$2.err"
}

# python prelude for checks: load(), ops(), shapes(), tr()
gs_prelude='
import json, sys
def load(p):
    with open(p) as f:
        return json.load(f)
def tr(t):
    """transpose flag in any spelling -> "N", "T" or "C" """
    if t is None: return "N"
    if isinstance(t, bool): return "T" if t else "N"
    if isinstance(t, int): return "NTC"[t]
    t = str(t).strip().upper()
    return {"": "N", "NOTRANS": "N", "TRANS": "T", "CONJTRANS": "C"}.get(t, t[:1])
def ops(r):
    """{(op, api): calls}"""
    d = {}
    for o in r["ops"]:
        d[(o["op"], o["api"])] = d.get((o["op"], o["api"]), 0) + o["calls"]
    return d
def shapes(r, op=None):
    """{(op, api, transa, transb, m, n, k): calls}"""
    d = {}
    for s in r["shapes"]:
        if op is not None and s["op"] != op: continue
        key = (s["op"], s["api"], tr(s.get("transa")), tr(s.get("transb")),
               s.get("m") or 0, s.get("n") or 0, s.get("k") or 0)
        d[key] = d.get(key, 0) + s["calls"]
    return d
def eq(what, got, want):
    if got != want:
        print("%s: got %r, want %r" % (what, got, want))
        sys.exit(1)
'
pycheck() {
    "$py" -c "$gs_prelude
$(cat)" "$@"
}

# check_lost JSON TEXT CALLS REASON-WORDS: the report's "lost" (top level and
# the one process) says CALLS calls and a reason containing REASON-WORDS, and
# the text report says so in words
check_lost() {
    "$py" - "$1" "$3" "$4" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); why = sys.argv[3]
for where, l in [("top level", r.get("lost"))] + [("process %s" % p.get("pid"), p.get("lost")) for p in r["process_list"]]:
    if not l or l.get("calls") != n or why not in str(l.get("reason")) or l.get("records", 0) < n:
        sys.exit("JSON lost at %s: %r, want %d calls, reason with '%s'" % (where, l, n, why))
PY
    grep -q "lost $3 calls" "$2" || { echo "text report does not say 'lost $3 calls': $(head -20 "$2")"; return 1; }
}
