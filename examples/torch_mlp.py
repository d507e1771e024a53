#!/usr/bin/python3
"""torch_mlp.py - a small PyTorch MLP (64 -> 128 -> 64 -> 10, ReLU, cross
entropy, SGD) trained on random data on the CPU, to run under greenshim:

    LD_PRELOAD=build/libgreenshim.so GREENSHIM_OUT=run /usr/bin/python3 examples/torch_mlp.py
    build/greenshim-analyze report run

Options: --steps N (default 20), --batch B (default 32), --annotate (name
every layer with greenshim.annotate: regions "fc1", "fc1.backward", ...,
python/greenshim.py is found relative to this script), --threads T
(torch.set_num_threads, default 1), --quiet.

BLAS calls per training step, measured with Debian's torch 1.13 (which
reaches OpenBLAS through the Fortran interface: every Linear layer is
aten::addmm -> sgemm_, api "fortran"):

    layer  pass      sgemm_ (column-major view of the row-major product)
    fc1    forward   1   addmm  out = x . W1^T            transa T transb N  m=128 n=B   k=64
    fc2    forward   1                                    T N  m=64  n=B   k=128
    fc3    forward   1                                    T N  m=10  n=B   k=64
    fc3    backward  2   grad_input = g . W3              N N  m=64  n=B   k=10
                         grad_weight = g^T . a2           N T  m=64  n=10  k=B
    fc2    backward  2                                    N N  m=128 n=B   k=64
                                                          N T  m=128 n=64  k=B
    fc1    backward  1   grad_weight only (x needs no gradient)   N T  m=64 n=128 k=B

8 sgemm_ calls per step, 8 * N in all; nothing else calls BLAS (the loss,
ReLU, bias gradients and the SGD update are torch's own loops).  The exact
transposes and m/n order are those tests/e2e/test_torch.sh checks.
"""

import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--annotate", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 128)
            self.act1 = nn.ReLU()
            self.fc2 = nn.Linear(128, 64)
            self.act2 = nn.ReLU()
            self.fc3 = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))

    model = MLP()
    handle = None
    if args.annotate:
        try:
            import greenshim            # greenshim record puts it on PYTHONPATH
        except ImportError:             # run straight from the source tree
            here = os.path.dirname(os.path.abspath(__file__))
            sys.path.insert(0, os.path.join(here, "..", "python"))
            import greenshim
        handle = greenshim.annotate(model)

    # random but learnable: labels from a fixed random linear map of the input
    gen = torch.Generator().manual_seed(1)
    proj = torch.randn(64, 10, generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    loss = None
    for step in range(1, args.steps + 1):
        x = torch.randn(args.batch, 64, generator=gen)
        y = _labels(x, proj)
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        if not args.quiet and (step == 1 or step % 5 == 0 or step == args.steps):
            print("step %d loss %.6f" % (step, loss.item()))
    if handle is not None:
        handle.remove()
    if not args.quiet:
        csum = sum(float(p.detach().double().sum()) for p in model.parameters())
        print("final loss %.6f checksum %r" % (loss.item() if loss is not None else float("nan"), csum))


def _labels(x, proj):
    """argmax of x . proj computed without BLAS (elementwise multiply and
    sum), so that the only BLAS calls are the model's."""
    return (x.unsqueeze(2) * proj.unsqueeze(0)).sum(dim=1).argmax(dim=1)


if __name__ == "__main__":
    main()
