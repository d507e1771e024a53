#!/usr/bin/env python3
"""compact.py - turn a real trace recorded under the shim into a small seed
for the fuzz corpus: the same header (key: value text included) and a subset
of the recorded records, unchanged, repacked into small chunks.

    compact.py IN.gstrace OUT [--calls N] [--samples N] [--chunk-slots S]

The recorder writes 1 MiB chunks behind a 16 KiB header, far beyond what a
fuzzer should mutate; the reader takes header_size and chunk_size from the
header, so a seed with a 256 + text header and S-slot chunks is still a valid
trace.  Kept per thread, in order: every STRING (with its continuation
slots), REGION push/pop, CLOCK, END, LOST, GPU_INFO... record; the first N
CALL (each with its COUNTERS record), KERNEL, MEMCPY, API, CUBLAS and DNNL
records; the first and last N/2 SAMPLE and NVML records.  Records of type
>= 16 span their nslots slots (byte 1).
Chunks keep their thread id, stream and per-thread sequence; the END record
stays last on its thread.
Version 3 files: chunks are taken once each by (tid, stream number, seq),
the helper's copy before the ring's; records lie on a 16-byte grid; a short
call (SCALL, 16 bytes) counts as a call and is kept with the SHAPE it names,
which is written again, renumbered, into each output chunk that uses it
(a shape dictionary is per chunk)."""
import struct
import sys

REC = 48
# capped like calls: CALL, KERNEL, MEMCPY, API, CUBLAS, DNNL; like samples: SAMPLE, NVML
CALLS = {1, 16, 17, 18, 19, 21}
SAMPLES = {7, 23}
CHUNK_MAGIC = 0x4B4E4843


SCALL, SHAPE = 11, 10


def groups3(d, off, csize):
    """version 3: (type, bytes, shape) of one chunk, SCALLs with their SHAPE
    record (the chunk's dictionary), SHAPE records themselves dropped"""
    p, end = off + REC, min(off + csize, len(d))
    shapes = []
    while p + 16 <= end:
        t = d[p]
        if t == 0:
            return
        if t == SCALL:
            sid = struct.unpack_from("<H", d, p + 2)[0]
            if sid >= len(shapes):
                return
            yield t, d[p:p + 16], shapes[sid]
            p += 16
            continue
        if p + REC > end:
            return
        if t == SHAPE:
            shapes.append(d[p:p + REC])
            p += REC
            continue
        n = 1
        if t >= 16:
            n = d[p + 1]
            if n == 0:
                return
        elif t == 5:
            ln = struct.unpack_from("<H", d, p + 2)[0]
            if ln > 40:
                n += (ln - 40 + REC - 1) // REC
        if p + n * REC > end:
            return
        yield t, d[p:p + n * REC], None
        p += n * REC


def groups(d, off, csize):
    """record groups of one chunk: a STRING with its continuations is one"""
    p, end = off + REC, off + csize
    while p + REC <= min(end, len(d)):
        t = d[p]
        if t == 0:
            return
        n = 1
        if t >= 16:                    # format 2: nslots in byte 1 (0 is damage)
            n = d[p + 1]
            if n == 0:
                return
        elif t == 5:
            ln = struct.unpack_from("<H", d, p + 2)[0]
            if ln > 40:
                n += (ln - 40 + REC - 1) // REC
        if p + n * REC > end:
            return
        yield t, d[p:p + n * REC]
        p += n * REC


def main():
    args = sys.argv[1:]
    opts = {"--calls": 12, "--samples": 8, "--chunk-slots": 16}
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts:
            opts[args[i]] = int(args[i + 1])
            i += 2
        else:
            pos.append(args[i])
            i += 1
    src, dst = pos
    d = open(src, "rb").read()
    version = struct.unpack_from("<I", d, 8)[0]
    hs, cs, rs = struct.unpack_from("<III", d, 12)
    text_len = struct.unpack_from("<I", d, 72)[0]
    assert d[:7] == b"GRNSHIM" and rs == REC, src
    threads = {}                       # tid -> [stream, [records]]
    order = []
    off = hs
    chunks = []
    seen = {}
    while off + REC <= len(d):
        magic, tid, seq, stream = struct.unpack_from("<IIII", d, off)
        sno, flags = struct.unpack_from("<II", d, off + 24)
        if magic == CHUNK_MAGIC:
            if version < 3:
                chunks.append(((tid, 0), seq, stream, off))
            elif (tid, sno, seq) not in seen or flags & 1:
                seen[(tid, sno, seq)] = (stream, off)
        off += cs
    for (tid, sno, seq), (stream, off) in seen.items():
        chunks.append(((tid, sno), seq, stream, off))
    for key, seq, stream, off in sorted(chunks):
        if key not in threads:
            threads[key] = [stream, []]
            order.append(key)
        if version < 3:
            threads[key][1].extend((t, r, None) for t, r in groups(d, off, cs))
        else:
            threads[key][1].extend(groups3(d, off, cs))
    ncalls, nsamp = opts["--calls"], opts["--samples"]
    slots = opts["--chunk-slots"]
    out_chunks = []
    for tid in order:
        stream, recs = threads[tid]
        samples = [i for i, (t, _, _) in enumerate(recs) if t in SAMPLES]
        keep_s = set(samples[:nsamp // 2] + samples[-(nsamp - nsamp // 2):]) if nsamp else set()
        kept, calls, last_call_kept = [], 0, False
        for i, (t, r, shp) in enumerate(recs):
            if t == SCALL:
                last_call_kept = calls < ncalls
                calls += 1
                if last_call_kept:
                    kept.append((r, shp))
                continue
            r = (r, None)
            if t in CALLS:
                last_call_kept = calls < ncalls
                calls += 1
                if last_call_kept:
                    kept.append(r)
            elif t == 2:
                if last_call_kept:
                    kept.append(r)
            elif t in SAMPLES:
                if i in keep_s:
                    kept.append(r)
            else:
                kept.append(r)
        seq, cur, ids = 0, b"", {}
        for r, shp in kept:
            need = len(r) + (REC if shp is not None and shp not in ids else 0)
            if len(cur) + need > (slots - 1) * REC:
                out_chunks.append((tid, stream, seq, cur))
                seq, cur, ids = seq + 1, b"", {}
            if shp is not None:
                if shp not in ids:
                    ids[shp] = len(ids)
                    sh = bytearray(shp)
                    struct.pack_into("<H", sh, 8, ids[shp])
                    cur += bytes(sh)
                r = bytearray(r)
                struct.pack_into("<H", r, 2, ids[shp])
                r = bytes(r)
            cur += r
        if cur or seq == 0:
            out_chunks.append((tid, stream, seq, cur))
    new_hs = 256 + text_len
    new_hs += -new_hs % 8
    hdr = bytearray(d[:256] + d[256:256 + text_len])
    hdr += bytes(new_hs - len(hdr))
    struct.pack_into("<II", hdr, 12, new_hs, slots * REC)
    out = bytearray(hdr)
    # chunks interleaved by sequence number, as concurrent threads write them
    for tid, stream, seq, body in sorted(out_chunks, key=lambda c: (c[2], order.index(c[0]))):
        ch = struct.pack("<IIIIQII", CHUNK_MAGIC, tid[0], seq, stream, 0, tid[1], 0) + bytes(REC - 32)
        out += ch + body + bytes(slots * REC - REC - len(body))
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
