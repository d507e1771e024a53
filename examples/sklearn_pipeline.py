"""sklearn_pipeline.py - numerical work that is no network: Ridge (SVD
solver), PCA and KMeans on 5000 x 28 random data, one BLAS thread.  Its QR
and SVD loops call dgemv and dgemm on a new shape almost every call, and
KMeans' distance GEMM runs in chunks of two sizes; nothing trains.

    python3 examples/sklearn_pipeline.py
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 28))
    y = X @ rng.standard_normal(28)
    Ridge(alpha=1.0, solver="svd").fit(X, y)
    PCA(n_components=8, svd_solver="full").fit(X)
    KMeans(n_clusters=8, n_init=2, random_state=0).fit(X[:, :8] @ np.ones((8, 200)))
    print("ok")


if __name__ == "__main__":
    main()
