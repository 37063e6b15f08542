"""PyTorch CPU peer for the width-sweep regime: µs per training step of a small MLP.

What it measures: for each hidden width H, an MLP 784-H-10 (ReLU) trained on a stratified,
seeded subset of n = 4000 Fashion-MNIST training images, batch 128 (32 steps per epoch, the
last one a partial batch of 32), SGD lr 0.01 momentum 0.9 Nesterov, Kaiming-normal weights,
zero biases, seed 0, reshuffled every epoch, 1 intra-op thread by default. For each H one
warm-up epoch is run and discarded, then ``--epochs`` (>= 3) timed epochs (training loop only,
data already in memory); it prints one JSON line per H with the median epoch time (ms), the
median µs per step (= median epoch time / steps per epoch) and the median of the individual
step times. At small H this is per-step framework overhead, not FLOPs.

Run:
    python3 bench/pytorch/width_sweep.py                        # H = 4 8 16 32 64 128 256 1024
    python3 bench/pytorch/width_sweep.py --widths 4 16 64 --epochs 5 --threads 1
"""

import json
import os
import statistics
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from threads import early_threads, set_thread_env  # noqa: E402  (imports neither torch nor numpy)

if __name__ == "__main__":
    set_thread_env(early_threads(sys.argv))

import torch  # noqa: E402

import fmnist_data  # noqa: E402
import train  # noqa: E402

DEFAULT_WIDTHS = [4, 8, 16, 32, 64, 128, 256, 1024]


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="PyTorch CPU width sweep (n=4000, MLP 784-H-10)")
    p.add_argument("--widths", type=int, nargs="+", default=DEFAULT_WIDTHS)
    p.add_argument("--epochs", type=int, default=5, help="timed epochs after 1 warm-up (>= 3)")
    p.add_argument("--n", type=int, default=4000, help="stratified training subset size")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    if a.epochs < 3:
        p.error("--epochs must be >= 3")

    torch.set_num_threads(a.threads)
    x, y = fmnist_data.load("train", subset=a.n, seed=train.SEED)
    steps = (x.shape[0] + train.BATCH - 1) // train.BATCH

    for h in a.widths:
        model = train.build_model("mlp", hidden=h)
        opt = train.make_optimizer(model)
        gen = torch.Generator().manual_seed(train.SEED)
        train.train_epoch(model, opt, x, y, gen)  # warm-up epoch, discarded
        epoch_s, step_s = [], []
        loss = None
        for _ in range(a.epochs):
            s, loss = train.train_epoch(model, opt, x, y, gen, step_times=step_s)
            epoch_s.append(s)
        med = statistics.median(epoch_s)
        print(json.dumps({
            "framework": "pytorch", "model": f"mlp-784-{h}-10", "hidden": h, "threads": a.threads,
            "n": x.shape[0], "steps_per_epoch": steps, "epochs": a.epochs,
            "ms_per_epoch": round(med * 1e3, 3),
            "us_per_step": round(med / steps * 1e6, 1),
            "us_per_step_median_of_steps": round(statistics.median(step_s) * 1e6, 1),
            "train_loss": round(loss, 5),
        }), flush=True)


if __name__ == "__main__":
    main()
