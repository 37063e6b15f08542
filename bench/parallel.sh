#!/usr/bin/env bash
# bench/parallel.sh — data-parallel scaling on one node, side by side in one run (a benchmark, never a test).
#
# MLP 784-1024-10 and LeNet-5 on the real Fashion-MNIST, global batch 128, 1 process × 1 thread against
# 2 processes × 1 thread, for Descent (`descent-bench epoch`, under mpirun for 2), PyTorch DDP over gloo
# (bench/pytorch/ddp.py under torchrun) and, for the MLP, mpi4py + numpy (bench/pytorch/mpi_numpy.py). Each run:
# 1 warm-up + E timed epochs. Descent runs R rounds of 1 process then 2, alternated, so that the machine's drift
# over minutes falls on both alike; the report takes the median over every timed epoch of a configuration.
# Descent's lines carry rank 0's per-phase seconds (data, forward, backward, gradient reduction + update, and the
# part of it spent waiting for the other rank). JSON lines go to bench/results/parallel.jsonl;
# bench/parallel_report.py writes bench/results/parallel.md (printed). About 8 minutes on 2 cores. Needs
# scripts/setup's packages, PyTorch and mpi4py (installed if missing).
#
#   bench/parallel.sh [--epochs E] [--rounds R] [--models "mlp lenet5"] [--no-build] [--no-peers]
set -euo pipefail
cd "$(dirname "$0")/.."

EPOCHS="${EPOCHS:-3}"
ROUNDS="${ROUNDS:-3}"
MODELS="${MODELS:-mlp lenet5}"
PYTHON="${PYTHON:-python3}"
BUILD=1 PEERS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) EPOCHS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-peers) PEERS=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "parallel.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [[ $PEERS == 1 ]]; then
  source bench/python_peers.sh
  install_python_peers parallel.sh numpy mpi4py
fi
[[ $BUILD == 1 ]] && swift build -c release --product descent-bench >/dev/null
BENCH=.build/release/descent-bench
OUT=bench/results/parallel.jsonl
: > "$OUT"
note() { echo "{\"kind\":\"note\",\"text\":\"$1\"}" >> "$OUT"; }
note "date $(date -Iseconds); load before $(cut -d' ' -f1-3 /proc/loadavg)"
for model in $MODELS; do
  for round in $(seq "$ROUNDS"); do
    echo "parallel.sh: $model, Descent 1 × 1 and 2 × 1 (round $round of $ROUNDS)" >&2
    "$BENCH" epoch --model "$model" --epochs "$EPOCHS" --threads 1 --reps 5 >> "$OUT"
    mpirun -np 2 "$BENCH" epoch --model "$model" --epochs "$EPOCHS" --threads 1 --reps 5 >> "$OUT"
  done
  if [[ $PEERS == 1 ]]; then
    echo "parallel.sh: $model, PyTorch DDP (gloo) 1 and 2 processes" >&2
    for p in 1 2; do
      torchrun --standalone --nproc_per_node "$p" bench/pytorch/ddp.py --model "$model" --epochs $((EPOCHS + 1)) 2>/dev/null >> "$OUT"
    done
    if [[ $model == mlp ]]; then
      echo "parallel.sh: mlp, mpi4py + numpy 1 and 2 processes" >&2
      "$PYTHON" bench/pytorch/mpi_numpy.py --epochs $((EPOCHS + 1)) >> "$OUT"
      mpirun -np 2 "$PYTHON" bench/pytorch/mpi_numpy.py --epochs $((EPOCHS + 1)) >> "$OUT"
    fi
  fi
done
note "load after $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" bench/parallel_report.py "$OUT" bench/results/parallel.md
cat bench/results/parallel.md
