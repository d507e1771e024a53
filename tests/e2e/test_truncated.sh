#!/usr/bin/env bash
# A trace truncated in the middle of a record (cut inside the calling
# thread's chunk, not on a 48-byte boundary): the analyzer exits 2, names the
# file and the offset on stderr, and still reports the whole records before
# the cut.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"
N=500

record "$tmp/t" "$build/examples/blas_mix" --threads 1 --dgemm $N --fgemm 0 --sgemv 0 --no-singles \
    >/dev/null || fail "blas_mix failed under the shim"
f=$(ls "$tmp/t"/*.gstrace) || fail "no trace file"
# the offset of the 200th record of the worker thread's first chunk, + 20
cut=$("$py" - "$f" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
hs, cs = struct.unpack_from("<II", d, 12)
off = hs
while off + 48 <= len(d):
    magic, tid, seq, stream = struct.unpack_from("<IIII", d, off)
    if magic == 0x4b4e4843 and stream == 1 and seq == 0:
        # records start after the chunk header; find 200 CALL records in
        p, calls = off + 48, 0
        # version 3: a 16-byte grid, SCALL 16 bytes, other records 48 x slots
        while p + 16 <= off + cs and d[p] != 0:
            if d[p] in (1, 11):
                calls += 1
                if calls == 200:
                    print(p + 10)
                    sys.exit(0)
            p += 16 if d[p] == 11 else 48 * (d[p + 1] if d[p] >= 16 else 1)
    off += cs
sys.exit("no thread chunk with 200 calls in " + sys.argv[1])
PY
) || fail "cannot find a place to cut: $cut"
truncate -s "$cut" "$f"
"$ana" report "$tmp/t" --format json >"$tmp/r.json" 2>"$tmp/r.err"
rc=$?
[ $rc = 2 ] || fail "analyzer exit $rc on a truncated trace, want 2 (stderr: $(tail -3 "$tmp/r.err"))"
grep -q "$(basename "$f")" "$tmp/r.err" || fail "stderr does not name the file $(basename "$f"): $(cat "$tmp/r.err")"
grep -qiE "offset[^0-9]*[0-9]+" "$tmp/r.err" || fail "stderr names no offset: $(cat "$tmp/r.err")"
pycheck "$tmp/r.json" <<'PY' || exit 1
r = load(sys.argv[1])
c = ops(r).get(("dgemm", "cblas"), 0)
# records 1..199 of the thread are whole; the 200th is cut
eq("calls read before the cut", c, 199)
PY
echo "truncated at byte $cut: exit 2, $(head -1 "$tmp/r.err"), 199 calls still reported"
