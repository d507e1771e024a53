#!/usr/bin/python3
"""sklearn_mlp.py - Debian's scikit-learn MLPs (python3-sklearn), trained as
a user would, to run under greenshim with no markup:

  clf   MLPClassifier((64, 32)) on the 8x8 digits (1797 x 64, 10 classes),
        batch_size=128: 14 full batches and a ragged one of 5 per epoch,
        then score() (a forward pass of all 1797 samples)
  clf1  MLPClassifier((64,)) on the digits, batch_size=200 (8 x 200 + 197)
  reg   MLPRegressor((100, 50)) on 960 x 20 synthetic features, 3 targets,
        batch_size=96 (10 full batches), then score()

scikit-learn computes every layer with numpy's row-major dot products
(cblas_dgemm): forward X.W, weight gradient X^T.delta, input gradient
delta.W^T (none for the first layer).  Options: --epochs N (default 3).
The synthetic data is made without BLAS (elementwise numpy), so the
model's products are the only BLAS calls.
"""

import argparse
import warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=["clf", "clf1", "reg"])
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    warnings.simplefilter("ignore", ConvergenceWarning)

    if args.model in ("clf", "clf1"):
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        hidden, batch = ((64, 32), 128) if args.model == "clf" else ((64,), 200)
        m = MLPClassifier(hidden, batch_size=batch, max_iter=args.epochs, random_state=0,
                          shuffle=True, tol=0.0, n_iter_no_change=10 ** 6)
        m.fit(X, y)
        print("%s accuracy %.4f" % (args.model, m.score(X, y)))
    else:
        rng = np.random.RandomState(0)
        X = rng.randn(960, 20)
        Y = np.stack([X[:, 0] - X[:, 1], (X[:, 2] * X[:, 3]), np.sin(X[:, 4])], axis=1)
        m = MLPRegressor((100, 50), batch_size=96, max_iter=args.epochs, random_state=0,
                         tol=0.0, n_iter_no_change=10 ** 6)
        m.fit(X, Y)
        print("reg r2 %.4f" % m.score(X, Y))


if __name__ == "__main__":
    main()
