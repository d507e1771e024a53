#!/usr/bin/env bash
# export --perfetto streams: on a synthetic trace of 300000 calls (4
# threads, measured RAPL and frequency samples; tests/fakes/bigtrace.c) the
# export writes one slice per call (a file of ~70 MB) yet its peak memory is
# the report's own plus at most 16 MiB: the exporter holds nothing per call.
# Progress: on a terminal (script(1) gives one) the export shows the calls
# analysed so far on stderr (GREENSHIM_PROGRESS_AFTER=0: at once, not after
# 1 s); without a terminal, stderr stays empty.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$ana" "$build/fakes/bigtrace"
n=300000
"$build/fakes/bigtrace" "$tmp/big.gstrace" $n 4 || fail "bigtrace failed"
"$py" - "$ana" "$tmp" $n <<'PY' || exit 1
import os, resource, subprocess, sys
ana, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def peak(args, out):
    # each child alone: the peak RSS of this one child (RUSAGE_CHILDREN of a fresh helper)
    code = ("import resource,subprocess,sys\n"
            "rc = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], 'w'))\n"
            "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code, out] + args, capture_output=True, text=True)
    rc, kb = r.stdout.split()
    if rc != "0":
        print("failed:", args, r.stderr); sys.exit(1)
    return int(kb)
rep = peak([ana, "report", "--format", "json", tmp + "/big.gstrace"], tmp + "/r.json")
exp = peak([ana, "export", "--perfetto", tmp + "/big.pf.json", tmp + "/big.gstrace"], os.devnull)
size = os.path.getsize(tmp + "/big.pf.json")
x = 0
with open(tmp + "/big.pf.json") as f:
    for line in f:
        x += line.startswith('{"ph": "X"')
if x != n:
    print("slices: got %d, want %d" % (x, n)); sys.exit(1)
print("report peak %.1f MiB, export peak %.1f MiB, export file %.1f MiB" % (rep / 1024, exp / 1024, size / 2**20))
if exp - rep > 16 * 1024:
    print("the exporter holds %.1f MiB more than the report" % ((exp - rep) / 1024)); sys.exit(1)
if size < 30 * 2**20:
    print("export smaller than expected:", size); sys.exit(1)
PY
"$ana" export --perfetto "$tmp/p2.json" "$tmp/big.gstrace" 2>"$tmp/plain.err" || fail "export failed"
[ -s "$tmp/plain.err" ] && fail "stderr not a terminal, yet the export wrote: $(head -c 200 "$tmp/plain.err")"
if command -v script >/dev/null; then
    GREENSHIM_PROGRESS_AFTER=0 script -qec "'$ana' export --perfetto '$tmp/p3.json' '$tmp/big.gstrace'" /dev/null \
        >"$tmp/tty.out" 2>&1 || fail "export under script failed: $(tail -c 300 "$tmp/tty.out")"
    grep -q "analysing: 262144 calls" "$tmp/tty.out" || fail "no progress on a terminal: $(tail -c 300 "$tmp/tty.out")"
    echo "progress on a terminal, none without"
else
    echo "script(1) absent: progress on a terminal not checked"
fi
