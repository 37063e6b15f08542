"""Fashion-MNIST loader shared by the PyTorch / numpy / mpi4py peer benchmarks.

What it does: reads the real Fashion-MNIST from the gzipped IDX files in
/usr/share/datasets/fashion-mnist/ (override with the FMNIST_DIR environment variable
or the ``root`` argument), scales pixels to [0, 1] float32 with shape N x 1 x 28 x 28,
and returns int64 labels. ``subset=n`` keeps a stratified, seeded subset of n training
samples (n // 10 per class, the remainder spread over the first classes, drawn with
``numpy.random.default_rng(seed)``; the kept indices are returned in a shuffled order).

Nothing here is timed: the benchmarks load the data once, into memory, before timing.

Run it directly to check the files:
    python3 bench/pytorch/fmnist_data.py            # prints shapes, ranges, class counts
    python3 bench/pytorch/fmnist_data.py --subset 4000

Only numpy is imported at module level, so a caller can set OMP/MKL/OpenBLAS thread
environment variables before torch is imported; ``load_numpy`` needs no torch at all
(mpi_numpy.py uses it), ``load`` returns torch tensors.
"""

import gzip
import os
import struct
import sys

import numpy as np

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
NUM_CLASSES = 10


def _root(root=None):
    return root or os.environ.get("FMNIST_DIR", DEFAULT_ROOT)


def read_idx(path):
    """Reads one gzipped (or plain) IDX file into a numpy array of its stored dtype."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {dims}, got {arr.size} bytes")
    return arr.reshape(dims)


def _split_files(root, split):
    prefix = "train" if split == "train" else "t10k"
    img = os.path.join(root, f"{prefix}-images-idx3-ubyte.gz")
    lab = os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz")
    return img, lab


def stratified_indices(labels, n, seed=0):
    """n indices into ``labels``, n // 10 per class (remainder to the first classes), seeded, shuffled."""
    labels = np.asarray(labels)
    classes = np.arange(NUM_CLASSES)
    per = np.full(NUM_CLASSES, n // NUM_CLASSES)
    per[: n % NUM_CLASSES] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for c, k in zip(classes, per):
        idx = np.flatnonzero(labels == c)
        if k > idx.size:
            raise ValueError(f"class {c} has only {idx.size} samples, {k} asked")
        chosen.append(rng.choice(idx, size=k, replace=False))
    out = np.concatenate(chosen)
    rng.shuffle(out)
    return out


def load_numpy(split="train", subset=None, seed=0, root=None):
    """(x, y): x float32 N x 1 x 28 x 28 in [0, 1], y int64 N. ``subset`` only for split='train'."""
    img_path, lab_path = _split_files(_root(root), split)
    x = read_idx(img_path)
    y = read_idx(lab_path).astype(np.int64)
    if subset is not None:
        if split != "train":
            raise ValueError("subset is for the training split")
        idx = stratified_indices(y, int(subset), seed)
        x, y = x[idx], y[idx]
    x = (x.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def load(split="train", subset=None, seed=0, root=None):
    """Same as ``load_numpy`` but as torch tensors (float32 N x 1 x 28 x 28, int64 N)."""
    import torch

    x, y = load_numpy(split, subset, seed, root)
    return torch.from_numpy(x), torch.from_numpy(y)


def load_all(subset=None, seed=0, root=None, as_torch=True):
    """((x_train, y_train), (x_test, y_test))."""
    fn = load if as_torch else load_numpy
    return fn("train", subset, seed, root), fn("test", None, seed, root)


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subset", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    (xtr, ytr), (xte, yte) = load_all(a.subset, a.seed, as_torch=False)
    for name, x, y in (("train", xtr, ytr), ("test", xte, yte)):
        print(f"{name}: x {x.shape} {x.dtype} [{x.min():.3f}, {x.max():.3f}] mean {x.mean():.4f}; "
              f"y {y.shape} {y.dtype} counts {np.bincount(y, minlength=10).tolist()}")
    sys.exit(0)
