#!/usr/bin/python3
"""numpy_threads.py - a program that is not a network: T Python threads
each square their own N x N matrix R times (a @ a, cblas_dgemm row-major,
no transposes).  greenshim must not call these products "linear" layers.
Options: --threads T (2), --n N (96), --reps R (20)."""

import argparse
import threading

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    out = [0.0] * args.threads

    def work(i):
        a = np.full((args.n, args.n), 1.0 / args.n) + np.eye(args.n) * (i + 1) * 1e-3
        for _ in range(args.reps):
            a = a @ a
            a /= np.abs(a).max()
        out[i] = float(a.sum())

    ts = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("checksum %.6f" % sum(out))


if __name__ == "__main__":
    main()
