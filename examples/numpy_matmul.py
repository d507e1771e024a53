#!/usr/bin/python3
"""numpy_matmul.py - numpy matrix products of known shapes and count, to run
under greenshim (numpy reaches OpenBLAS through the cblas interface):

    LD_PRELOAD=build/libgreenshim.so GREENSHIM_OUT=run /usr/bin/python3 examples/numpy_matmul.py

Products (all C-contiguous 2-D operands, distinct buffers, so numpy calls
cblas_?gemm row-major with no transposes; m x k @ k x n):

    count  dtype    shape                 BLAS call
    --d    float64  (64x32) @ (32x16)     cblas_dgemm  N N  m=64 n=16 k=32
    --s    float32  (48x24) @ (24x40)     cblas_sgemm  N N  m=48 n=40 k=24

Defaults: --d 10, --s 7.  Prints one line with a checksum of every result.
"""

import argparse

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=10, help="float64 64x32 @ 32x16 products")
    ap.add_argument("--s", type=int, default=7, help="float32 48x24 @ 24x40 products")
    args = ap.parse_args()

    rng = np.random.RandomState(0)
    a = rng.standard_normal((64, 32))
    b = rng.standard_normal((32, 16))
    sa = rng.standard_normal((48, 24)).astype(np.float32)
    sb = rng.standard_normal((24, 40)).astype(np.float32)
    total = 0.0
    for _ in range(args.d):
        total += float((a @ b).sum())
    for _ in range(args.s):
        total += float((sa @ sb).astype(np.float64).sum())
    print("numpy_matmul: float64 %d float32 %d checksum %r" % (args.d, args.s, total))


if __name__ == "__main__":
    main()
