#!/usr/bin/env python3
"""Start-up cost of the recorder in a process that makes no intercepted call:
runs a program (default /bin/true) N times untraced and N times with
libgreenshim.so preloaded, interleaved, and prints the median wall time and
the mean CPU time (user+sys, from the children's rusage) per process of
each, their difference, and the bytes the traced runs left on disk.
Usage: bench/startup.py LIB [N] [PROGRAM...]"""
import os, resource, statistics, subprocess, sys, tempfile, time

lib = os.path.abspath(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
prog = sys.argv[3:] or ["/bin/true"]
work = tempfile.mkdtemp(prefix="gs-startup.")
base = {k: v for k, v in os.environ.items() if not k.startswith("GREENSHIM") and k != "LD_PRELOAD"}
traced = dict(base, LD_PRELOAD=lib, GREENSHIM_QUIET="1")

def one(env):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(prog, env=env, cwd=work, check=True)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

res = {"plain": [], "traced": []}
for i in range(n):
    for name, env in (("plain", base), ("traced", traced)):
        res[name].append(one(env))
size = 0
for d, _, files in os.walk(work):
    for f in files:
        size += os.path.getsize(os.path.join(d, f))
entries = len(os.listdir(work))
out = {}
for name, v in res.items():
    out[name] = (statistics.median(w for w, _ in v) * 1e6, statistics.mean(c for _, c in v) * 1e6)
    print("%-7s median wall %7.0f us   mean CPU %7.0f us per process" % (name, *out[name]))
print("added:  wall %+.0f us, CPU %+.0f us per process; %d runs left %d entries, %d bytes on disk"
      % (out["traced"][0] - out["plain"][0], out["traced"][1] - out["plain"][1], n, entries, size))
