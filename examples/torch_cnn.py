#!/usr/bin/python3
"""torch_cnn.py - a small PyTorch CNN classifier trained on random 26x26
images on the CPU, to run under greenshim:

    nn.Sequential(Conv2d(1, 8, 3), ReLU, MaxPool2d(2),     # 26 -> 24 -> 12
                  Conv2d(8, 16, 3), ReLU, MaxPool2d(2),    # 12 -> 10 -> 5
                  Flatten, Linear(400, 10))

Debian's torch 1.13 runs the convolutions (forward, backward data,
backward weights) in oneDNN (libdnnl.so.2, dnnl_primitive_execute) and the
Linear layer through BLAS (sgemm_).  Options: --steps N (20), --batch B
(32), --eval-every E (0: never; else a forward-only pass of 2B images
under torch.no_grad() every E steps), --annotate (greenshim.annotate on the
Sequential), --threads T (1), --quiet.
"""

import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--annotate", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10))
    handle = None
    if args.annotate:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.join(here, "..", "python"))
        import greenshim
        handle = greenshim.annotate(model)
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    loss = None
    for step in range(1, args.steps + 1):
        x = torch.randn(args.batch, 1, 26, 26, generator=gen)
        y = (x[:, 0, :13, :].sum(dim=(1, 2)) > 0).long() + 2 * (x[:, 0, :, :13].sum(dim=(1, 2)) > 0).long()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if args.eval_every and step % args.eval_every == 0:
            with torch.no_grad():
                model(torch.randn(2 * args.batch, 1, 26, 26, generator=gen))
        if not args.quiet and (step == 1 or step % 5 == 0 or step == args.steps):
            print("step %d loss %.6f" % (step, loss.item()))
    if handle is not None:
        handle.remove()


if __name__ == "__main__":
    main()
