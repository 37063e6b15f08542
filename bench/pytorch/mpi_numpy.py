"""numpy + mpi4py peer, data parallel: seconds per epoch of a hand-written fp32 MLP.

What it measures: wall-clock seconds of each training epoch (barrier to barrier; evaluation and
loading from disk excluded) of an MLP 784-1024-10 (ReLU) written by hand in numpy (float32,
OpenBLAS sgemm, one BLAS thread per process), data parallel over MPI: every rank holds the whole
model, takes its share of each global batch of 128 (64 per rank with 2 processes; the last partial
global batch of 96 is split 48/48; 469 steps per epoch), computes its gradient into ONE flat
float32 buffer (views W1, b1, W2, b2 into it), and sums the buffers with a single in-place
``comm.Allreduce``; the loss gradient is divided by the global batch size, so the sum is the
gradient of the global mean loss. SGD lr 0.01 momentum 0.9 Nesterov exactly as PyTorch does it
(v = mu*v + g; p -= lr*(g + mu*v)), applied to the flat parameter buffer in one pass.
Kaiming-normal weights (fan_in, relu), zero biases, seed 0 on every rank (then broadcast from
rank 0), one global shuffle per epoch shared by all ranks.

Rank 0 prints one JSON line per epoch:
  {"framework":"numpy-mpi4py","model":"mlp","processes":2,"threads":1,"epoch":1,"seconds":...,
   "train_loss":...,"test_accuracy":...}

Run (needs mpi4py: ``pip install mpi4py``; Debian's Open MPI provides mpirun):
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        mpirun -np 2 python3 bench/pytorch/mpi_numpy.py --epochs 1
    python3 bench/pytorch/mpi_numpy.py --epochs 1          # 1-process baseline (MPI singleton)
(``--bind-to none`` may be added to mpirun; the default binds each rank to one core.)
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from threads import set_thread_env  # noqa: E402  (imports neither torch nor numpy)

set_thread_env(1)

import numpy as np  # noqa: E402
from mpi4py import MPI  # noqa: E402

import fmnist_data  # noqa: E402

IN, HID, OUT = 784, 1024, 10
BATCH, LR, MOMENTUM, SEED = 128, 0.01, 0.9, 0


class FlatMLP:
    """784-HID-10 MLP whose parameters and gradients each live in one flat float32 buffer."""

    def __init__(self, hidden=HID, seed=SEED):
        self.shapes = [("W1", (IN, hidden)), ("b1", (hidden,)), ("W2", (hidden, OUT)), ("b2", (OUT,))]
        size = sum(int(np.prod(s)) for _, s in self.shapes)
        self.flat = np.zeros(size, np.float32)
        self.grad = np.zeros(size, np.float32)
        self.vel = np.zeros(size, np.float32)
        self.tmp = np.zeros(size, np.float32)
        self.p, self.g = {}, {}
        off = 0
        for name, shape in self.shapes:
            k = int(np.prod(shape))
            self.p[name] = self.flat[off:off + k].reshape(shape)
            self.g[name] = self.grad[off:off + k].reshape(shape)
            off += k
        rng = np.random.default_rng(seed)
        self.p["W1"][...] = rng.standard_normal((IN, hidden), dtype=np.float32) * np.float32(np.sqrt(2.0 / IN))
        self.p["W2"][...] = rng.standard_normal((hidden, OUT), dtype=np.float32) * np.float32(np.sqrt(2.0 / hidden))

    def forward(self, x):
        h = x @ self.p["W1"]
        h += self.p["b1"]
        np.maximum(h, 0, out=h)
        z = h @ self.p["W2"]
        z += self.p["b2"]
        return h, z

    def loss_and_grad(self, x, y, scale):
        """Writes d(sum of losses * scale)/dparams into self.grad; returns the sum of losses."""
        h, z = self.forward(x)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(x.shape[0])
        loss_sum = float(np.log(s[:, 0]).sum() - z[rows, y].sum())
        dz = e
        dz /= s
        dz[rows, y] -= 1.0
        dz *= np.float32(scale)
        np.matmul(h.T, dz, out=self.g["W2"])
        np.sum(dz, axis=0, out=self.g["b2"])
        dh = dz @ self.p["W2"].T
        dh[h <= 0] = 0.0
        np.matmul(x.T, dh, out=self.g["W1"])
        np.sum(dh, axis=0, out=self.g["b1"])
        return loss_sum

    def sgd_nesterov(self, lr=LR, mu=MOMENTUM):
        v, g, t = self.vel, self.grad, self.tmp
        v *= np.float32(mu)
        v += g                         # v = mu*v + g
        np.multiply(v, np.float32(mu), out=t)
        t += g                         # g + mu*v
        t *= np.float32(lr)
        self.flat -= t

    def accuracy(self, x, y, batch=1000):
        correct = 0
        for s in range(0, x.shape[0], batch):
            _, z = self.forward(x[s:s + batch])
            correct += int((z.argmax(1) == y[s:s + batch]).sum())
        return correct / x.shape[0]


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="numpy + mpi4py data-parallel MLP benchmark")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=BATCH, help="global batch size")
    a = p.parse_args(argv)

    comm = MPI.COMM_WORLD
    rank, world = comm.Get_rank(), comm.Get_size()
    (x, y), (xt, yt) = fmnist_data.load_all(None, SEED, as_torch=False)
    x = x.reshape(-1, IN)
    xt = xt.reshape(-1, IN)
    n = x.shape[0]
    model = FlatMLP()
    comm.Bcast(model.flat, root=0)
    rng = np.random.default_rng(SEED)  # same stream on every rank: same global shuffle

    for epoch in range(1, a.epochs + 1):
        loss_sum = 0.0
        comm.Barrier()
        t0 = time.perf_counter()
        perm = rng.permutation(n)
        for start in range(0, n, a.batch):
            gidx = perm[start:start + a.batch]
            idx = np.array_split(gidx, world)[rank]
            xb = x.take(idx, axis=0)
            yb = y.take(idx)
            loss_sum += model.loss_and_grad(xb, yb, 1.0 / gidx.shape[0])
            comm.Allreduce(MPI.IN_PLACE, model.grad, op=MPI.SUM)
            model.sgd_nesterov()
        comm.Barrier()
        seconds = time.perf_counter() - t0
        total_loss = comm.reduce(loss_sum, op=MPI.SUM, root=0)
        if rank == 0:
            acc = model.accuracy(xt, yt)
            print(json.dumps({"framework": "numpy-mpi4py", "model": "mlp", "processes": world,
                              "threads": 1, "global_batch": a.batch, "epoch": epoch,
                              "seconds": round(seconds, 4), "train_loss": round(total_loss / n, 5),
                              "test_accuracy": round(acc, 4)}), flush=True)
        comm.Barrier()


if __name__ == "__main__":
    main()
