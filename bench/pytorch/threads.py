"""Thread counts for the peers: the OMP/MKL/OpenBLAS variables must be set before torch or numpy is imported,
so this module imports neither. ``early_threads`` reads ``--threads T`` from the command line that early."""

import os


def set_thread_env(threads):
    """Thread-count variables for every BLAS/OpenMP runtime; must run before torch/numpy import."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


def early_threads(argv, default=1):
    """The value of --threads in argv (before argparse runs), or default."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return default
