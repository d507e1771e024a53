#!/usr/bin/python3
"""torch_nets.py - small PyTorch trainers whose layers greenshim must find
with no markup (Debian's torch 1.13: Linear -> sgemm_, column-major):

  small   a 20 -> 50 -> 3 MLP, batch 256 (two layers, equal batch and no
          width of 256: the widths must not be read from the batch)
  two     two models trained one after the other in one process:
          A = 20 -> 50 -> 3 for --steps steps (batch 64), then
          B = 32 -> 16 -> 4 for 2 x --steps steps (batch 48)

Options: --steps N (default 10); --regions (each training step inside
greenshim.region("train_step"), and every 5th step an evaluation pass of
1000 samples under torch.no_grad() inside greenshim.region("eval");
python/greenshim.py is found relative to this script); --threads T (1).
Labels come from elementwise arithmetic (no BLAS), so the models' products
are the only BLAS calls.
"""

import argparse
import contextlib
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("net", choices=["small", "two"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--regions", action="store_true")
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    region = lambda name: contextlib.nullcontext()
    if args.regions:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.join(here, "..", "python"))
        import greenshim
        region = greenshim.region
    gen = torch.Generator().manual_seed(1)

    def train(dims, steps, batch):
        model = nn.Sequential(nn.Linear(dims[0], dims[1]), nn.ReLU(), nn.Linear(dims[1], dims[2]))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        loss_fn = nn.CrossEntropyLoss()
        for step in range(1, steps + 1):
            with region("train_step"):
                x = torch.randn(batch, dims[0], generator=gen)
                y = ((x[:, 0] > 0).long() + (x[:, 1] > 0).long()) % dims[2]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
            if args.regions and step % 5 == 0:
                with region("eval"), torch.no_grad():
                    model(torch.randn(1000, dims[0], generator=gen))
        return float(loss)

    if args.net == "small":
        print("small loss %.4f" % train((20, 50, 3), args.steps, 256))
    else:
        print("A loss %.4f" % train((20, 50, 3), args.steps, 64))
        print("B loss %.4f" % train((32, 16, 4), 2 * args.steps, 48))


if __name__ == "__main__":
    main()
