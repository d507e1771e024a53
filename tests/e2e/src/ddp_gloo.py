"""ddp_gloo.py - one rank of a PyTorch DistributedDataParallel job on gloo,
for tests/e2e/test_ddp_gloo.sh.  Started as torchrun would start it (RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment; Debian's
torchrun itself fails on this Python).  A 3-layer MLP, STEPS steps of
forward, backward (DDP's gradient allreduce on gloo) and SGD; layers named
with greenshim.annotate.  Rank STRAGGLER sleeps DELAY s per step before its
backward: the other rank waits in the allreduce.

    python3 ddp_gloo.py STEPS STRAGGLER DELAY
"""
import os, sys, time
import torch
import torch.distributed as dist
import greenshim

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 8
straggler = int(sys.argv[2]) if len(sys.argv) > 2 else 1
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.03
torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                            torch.nn.ReLU(), torch.nn.Linear(256, 10))
ddp = torch.nn.parallel.DistributedDataParallel(model)
greenshim.annotate(model)
opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
x = torch.randn(64, 128)
y = torch.randint(0, 10, (64,))
for s in range(steps):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(ddp(x), y)
    if rank == straggler:
        time.sleep(delay)
    loss.backward()
    opt.step()
dist.barrier()
print("rank %d of %d: %d steps, loss %.4f" % (rank, dist.get_world_size(), steps, loss.item()))
dist.destroy_process_group()
