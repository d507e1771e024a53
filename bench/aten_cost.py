"""bench/aten_cost.py - what the ATen fallback costs per operator, measured
side by side in one process (untraced rounds interleaved with traced ones).

    GREENSHIM_NATIVE=0 build/greenshim record -o /tmp/ac -- python3 bench/aten_cost.py [N]

Prints, per kind of operator, the time per call with and without the
fallback installed and the difference: a recorded matrix product (torch.mm
of 8x8, the fallback records it) and a passed-through operator (torch.add,
the fallback only looks at it)."""
import sys
import time

import torch
import greenshim_aten

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
torch.set_num_threads(1)
a = torch.ones(8, 8)


def per_call(fn):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


ops = {"mm 8x8 (recorded)": lambda: torch.mm(a, a), "add 8x8 (passed through)": lambda: torch.add(a, a)}
res = {k: [[], []] for k in ops}
greenshim_aten.uninstall()
for rnd in range(5):
    for on in (0, 1):
        if on:
            if not greenshim_aten.install(mode="on"):
                sys.exit("bench/aten_cost.py: the ATen fallback could not be installed (no recorder?)")
        for k, f in ops.items():
            res[k][on].append(per_call(f))
        if on:
            greenshim_aten.uninstall()
for k, (off, on) in res.items():
    off.sort(); on.sort()
    mo, mi = off[len(off) // 2], on[len(on) // 2]
    print("%-26s untraced %7.2f us  fallback %7.2f us  added %7.2f us per op" % (k, mo / 1e3, mi / 1e3, (mi - mo) / 1e3))
