"""PyTorch CPU peer: seconds per training epoch (and µs per step) on Fashion-MNIST.

What it measures: wall-clock seconds of the training loop of each epoch (shuffle, gather
the batch by index from in-memory tensors, forward, cross-entropy, backward, SGD step) --
not loading from disk, not evaluation -- for

  --model mlp     784-1024-10, ReLU
  --model lenet5  conv 6@5x5 pad 2 -> ReLU -> maxpool 2 -> conv 16@5x5 -> ReLU -> maxpool 2
                  -> 120 -> 84 -> 10 (ReLU between the dense layers)

with batch 128 (last partial batch kept: 469 steps per epoch), SGD lr 0.01 momentum 0.9
Nesterov, Kaiming-normal weights (fan_in, relu), zero biases, seed 0, reshuffled every epoch,
``--threads T`` intra-op threads (OMP/MKL/OpenBLAS env set before torch is imported, and
torch.set_num_threads(T)). The batch loop is DataLoader-free, as fast PyTorch CPU code is.

It prints one JSON line per epoch:
  {"framework":"pytorch","model":"mlp","threads":1,"epoch":1,"seconds":5.1,
   "train_loss":0.55,"test_accuracy":0.83}

``--steps-only K`` instead runs 5 warm-up steps, times K steps and prints one JSON line
with "us_per_step".

Run:
    python3 bench/pytorch/train.py --model mlp --epochs 5 --threads 1
    python3 bench/pytorch/train.py --model lenet5 --epochs 1 --threads 2
    python3 bench/pytorch/train.py --model mlp --steps-only 200 --threads 1
"""

import json
import os
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from threads import early_threads, set_thread_env  # noqa: E402  (imports neither torch nor numpy)

if __name__ == "__main__":
    set_thread_env(early_threads(sys.argv))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import fmnist_data  # noqa: E402

BATCH = 128
LR = 0.01
MOMENTUM = 0.9
SEED = 0
WARMUP_STEPS = 5


def mlp(hidden=1024):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def init_weights(model):
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def build_model(name, hidden=1024, seed=SEED):
    torch.manual_seed(seed)
    if name == "mlp":
        model = mlp(hidden)
    elif name == "lenet5":
        model = lenet5()
    else:
        raise ValueError(f"unknown model {name!r}")
    return init_weights(model)


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True)


def train_step(model, opt, xb, yb):
    out = model(xb)
    loss = F.cross_entropy(out, yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def train_epoch(model, opt, x, y, gen, batch=BATCH, step_times=None):
    """One shuffled epoch; returns (seconds, mean train loss). Times only this loop.

    If ``step_times`` is a list, the duration of each step (seconds) is appended to it.
    """
    n = x.shape[0]
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64)
    t0 = time.perf_counter()
    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, batch):
        ts = time.perf_counter() if step_times is not None else 0.0
        idx = perm[start:start + batch]
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        loss = train_step(model, opt, xb, yb)
        loss_sum += loss.detach() * idx.shape[0]
        if step_times is not None:
            step_times.append(time.perf_counter() - ts)
    seconds = time.perf_counter() - t0
    return seconds, loss_sum.item() / n


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for start in range(0, x.shape[0], batch):
        out = model(x[start:start + batch])
        correct += (out.argmax(1) == y[start:start + batch]).sum().item()
    return correct / x.shape[0]


def steps_only(model, opt, x, y, k, gen, batch=BATCH):
    """5 warm-up steps, then k timed steps; returns µs per step."""
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen)
    nb = (n + batch - 1) // batch

    def batch_at(i):
        s = (i % nb) * batch
        idx = perm[s:s + batch]
        return x.index_select(0, idx), y.index_select(0, idx)

    model.train()
    for i in range(WARMUP_STEPS):
        train_step(model, opt, *batch_at(i))
    t0 = time.perf_counter()
    for i in range(WARMUP_STEPS, WARMUP_STEPS + k):
        xb, yb = batch_at(i)
        train_step(model, opt, xb, yb)
    return (time.perf_counter() - t0) / k * 1e6


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="PyTorch CPU Fashion-MNIST training benchmark")
    p.add_argument("--model", choices=("mlp", "lenet5"), default="mlp")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps-only", type=int, default=None, metavar="K",
                   help="time K steps after 5 warm-up steps and print µs/step")
    p.add_argument("--subset", type=int, default=None, help="stratified training subset of n samples")
    a = p.parse_args(argv)

    set_thread_env(a.threads)  # for child runtimes; the real one was set before import
    torch.set_num_threads(a.threads)
    (x, y), (xt, yt) = fmnist_data.load_all(a.subset, SEED)
    model = build_model(a.model)
    opt = make_optimizer(model)
    gen = torch.Generator().manual_seed(SEED)
    base = {"framework": "pytorch", "model": a.model, "threads": a.threads}

    if a.steps_only is not None:
        us = steps_only(model, opt, x, y, a.steps_only, gen)
        print(json.dumps({**base, "steps": a.steps_only, "us_per_step": round(us, 1)}), flush=True)
        return

    for epoch in range(1, a.epochs + 1):
        seconds, loss = train_epoch(model, opt, x, y, gen)
        acc = evaluate(model, xt, yt)
        print(json.dumps({**base, "epoch": epoch, "seconds": round(seconds, 4),
                          "train_loss": round(loss, 5), "test_accuracy": round(acc, 4)}), flush=True)


if __name__ == "__main__":
    main()
