"""PyTorch CPU peer, data parallel: seconds per epoch of DistributedDataParallel over gloo.

What it measures: wall-clock seconds of each training epoch (barrier to barrier; evaluation and
loading from disk excluded) of ``--model mlp`` (784-1024-10) or ``--model lenet5`` trained with
torch.distributed DDP over the gloo backend, one intra-op thread per process, global batch 128
split evenly over the ranks (64 per rank with 2 processes; the last partial global batch of 96
is split 48/48, so 469 steps per epoch), SGD lr 0.01 momentum 0.9 Nesterov, Kaiming-normal
weights, zero biases, seed 0 on every rank (DDP also broadcasts rank 0's parameters), one global
shuffle per epoch shared by all ranks, batches gathered by index from in-memory tensors. DDP
averages the gradients, so each step is the same update as one process with batch 128.

Rank 0 prints one JSON line per epoch:
  {"framework":"pytorch-ddp-gloo","model":"mlp","processes":2,"threads":1,"epoch":1,
   "seconds":...,"train_loss":...,"test_accuracy":...}

Run (2 processes on this 2-core machine):
    torchrun --standalone --nproc_per_node 2 bench/pytorch/ddp.py --model mlp --epochs 1
    torchrun --standalone --nproc_per_node 1 bench/pytorch/ddp.py --model mlp --epochs 1   # 1-process baseline
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from threads import set_thread_env  # noqa: E402  (imports neither torch nor numpy)

set_thread_env(1)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

import fmnist_data  # noqa: E402
import train  # noqa: E402


def main(argv=None):
    import argparse
    import time

    p = argparse.ArgumentParser(description="PyTorch DDP (gloo) Fashion-MNIST benchmark")
    p.add_argument("--model", choices=("mlp", "lenet5"), default="mlp")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=train.BATCH, help="global batch size")
    a = p.parse_args(argv)

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()

    (x, y), (xt, yt) = fmnist_data.load_all(None, train.SEED)
    n = x.shape[0]
    model = DDP(train.build_model(a.model))
    opt = train.make_optimizer(model)
    gen = torch.Generator().manual_seed(train.SEED)  # same stream on every rank: same global shuffle

    for epoch in range(1, a.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64)
        dist.barrier()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, a.batch):
            idx = torch.tensor_split(perm[start:start + a.batch], world)[rank]
            xb = x.index_select(0, idx)
            yb = y.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # DDP all-reduces (averages) the gradients here
            opt.step()
            loss_sum += loss.detach() * idx.shape[0]
        dist.barrier()
        seconds = time.perf_counter() - t0
        dist.all_reduce(loss_sum)
        if rank == 0:
            acc = train.evaluate(model.module, xt, yt)
            print(json.dumps({"framework": "pytorch-ddp-gloo", "model": a.model, "processes": world,
                              "threads": 1, "global_batch": a.batch, "epoch": epoch,
                              "seconds": round(seconds, 4), "train_loss": round(loss_sum.item() / n, 5),
                              "test_accuracy": round(acc, 4)}), flush=True)
        dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
