"""PyTorch CPU peer for a sweep of many tiny runs, parallelised the natural way: a pool of P processes, each
training whole runs one after another (1 intra-op thread each), every run an MLP 784-H-10 on a stratified
n = 4000 Fashion-MNIST subset for E epochs (batch 128, SGD lr 0.01 momentum 0.9 Nesterov, Kaiming init),
evaluated on the 10,000 test images at the end. Prints one JSON line per run and a summary line with the wall
time of the whole sweep and runs per second.

Run:
    python3 bench/pytorch/sweep_runs.py --widths 4 8 16 32 64 --seeds 0 1 2 3 --epochs 100 --processes 2
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from threads import set_thread_env  # noqa: E402  (imports neither torch nor numpy)

set_thread_env(1)

import multiprocessing as mp  # noqa: E402


def one_run(args):
    hidden, seed, epochs, n = args
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fmnist_data
    import train
    torch.set_num_threads(1)
    x, y = fmnist_data.load("train", subset=n, seed=0)
    xt, yt = fmnist_data.load("test")
    t0 = time.perf_counter()
    model = train.build_model("mlp", hidden=hidden, seed=seed)
    opt = train.make_optimizer(model)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        train.train_epoch(model, opt, x, y, gen)
    accuracy = train.evaluate(model, xt, yt)
    return {"framework": "pytorch", "hidden": hidden, "seed": seed, "epochs": epochs,
            "test_error": round(1 - accuracy, 4), "seconds": round(time.perf_counter() - t0, 3)}


def main():
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--widths", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--processes", type=int, default=2)
    a = p.parse_args()
    runs = [(h, s, a.epochs, a.n) for h in a.widths for s in a.seeds]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(a.processes) as pool:
        for result in pool.imap_unordered(one_run, runs):
            print(json.dumps(result), flush=True)
    wall = time.perf_counter() - t0
    print(json.dumps({"framework": "pytorch", "kind": "summary", "runs": len(runs), "processes": a.processes,
                      "wall_seconds": round(wall, 2), "runs_per_second": round(len(runs) / wall, 4)}), flush=True)


if __name__ == "__main__":
    main()
