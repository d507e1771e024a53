#!/usr/bin/env bash
# The ring's copies, as a SIGKILL can leave them (version 3): a trace of a
# killed program (blas_mix --hang: its last records are still in the ring)
# gets, at its end, (a) a whole copy of a ring chunk that holds calls,
# flagged as the helper's copy (a kill after the copy, before the ring's
# segment was cleared): the analyzer reads the calls once; (b) a copy cut
# short before its header (no magic): skipped.  The counts stay exact.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"
N=3000
GREENSHIM_EVENTS=none LD_PRELOAD="$lib" GREENSHIM_OUT="$tmp/k" "$build/examples/blas_mix" --hang $N >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
f=$(ls "$tmp"/k/*.gstrace) || fail "no trace"
base=$("$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py")
case "$base" in "calls=$N "*) ;; *) fail "the killed trace: $base, want $N calls" ;; esac
"$py" - "$f" <<'PY' || exit 1
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
hsize, csize = struct.unpack_from("<II", b, 12)
assert struct.unpack_from("<I", b, 8)[0] == 3, "want a version 3 trace"
found = None
for off in range(hsize, len(b), csize):
    magic, tid, seq, stream = struct.unpack_from("<IIII", b, off)
    flags = struct.unpack_from("<I", b, off + 28)[0]
    if magic == 0x4b4e4843 and stream == 1 and not flags & 1 and b[off + 48] in (1, 10, 11):
        found = off                     # a ring chunk with a CALL
        break
if found is None:
    sys.exit("no chunk with calls left in the ring of the killed trace")
copy = bytearray(b[found:found + csize])
struct.pack_into("<I", copy, 28, struct.unpack_from("<I", copy, 28)[0] | 1)
cut = bytearray(copy)
cut[0:48] = bytes(48)                   # a copy cut short: body without its header
with open(p, "ab") as f:
    f.write(cut)
    f.write(copy)
print("ring chunk at %d copied to the end (and a headless copy before it)" % found)
PY
got=$("$ana" dump "$f" | "$py" "$root/tests/e2e/lib/lost.py")
[ "$got" = "$base" ] || fail "with the copies: $got, want $base"
report_json "$tmp/k" "$tmp/k.json" || fail "report exit $?: $(tail -3 "$tmp/k.json.err")"
pycheck "$tmp/k.json" $N <<'PY' || exit 1
r = load(sys.argv[1])
eq("calls", ops(r).get(("dgemm", "cblas"), 0), int(sys.argv[2]))
PY
echo "a ring chunk and its copy: read once; a copy without header: skipped; $N calls"
