#!/usr/bin/env bash
# bench/sweep_compare.sh — a sweep of tiny runs through Descent on 2 ranks and through PyTorch in 2 processes,
# side by side in one run (a benchmark, never a test): MLP 784-H-10, H = 4, 8, 16, 32, 64, 4 seeds (20 runs),
# n = 4000 Fashion-MNIST images, E epochs each (default 100), test error at the end. Descent: `mpirun -np 2
# descent sweep` (2 groups of 1 rank); PyTorch: bench/pytorch/sweep_runs.py with a pool of 2 processes. Writes
# bench/results/sweep.md. Target: Descent's throughput (runs per second) ≥ 8× PyTorch's.
#   bench/sweep_compare.sh [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
epochs="${1:-100}"
python="${PYTHON:-python3}"
"$python" -c "import torch" 2>/dev/null || { echo "sweep_compare: PyTorch is missing: bench/compare.sh installs it"; exit 1; }
swift build -c release --product descent >/dev/null
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat > "$work/base.toml" <<JOB
[run]
epochs = $epochs
[data]
subset = 4000
[model]
architecture = "mlp"
hidden = [4]
[optim]
batch_size = 128
lr = 0.01
momentum = 0.9
nesterov = true
[eval]
every = $epochs
[checkpoint]
every = "$epochs epochs"
keep = 1
JOB
cat > "$work/sweep.toml" <<SWEEP
job = "base.toml"
name = "tiny"
output = "$work/runs"
[grid]
"model.hidden" = [4, 8, 16, 32, 64]
"run.seed" = [0, 1, 2, 3]
SWEEP
start=$(date +%s.%N)
mpirun -np 2 .build/release/descent sweep "$work/sweep.toml" > "$work/descent.log"
descent_wall=$("$python" -c "print(round($(date +%s.%N) - $start, 2))")
"$python" bench/pytorch/sweep_runs.py --epochs "$epochs" --processes 2 > "$work/pytorch.log"
pytorch_wall=$(grep '"summary"' "$work/pytorch.log" | "$python" -c "import json,sys; print(json.load(sys.stdin)['wall_seconds'])")
ratio=$("$python" -c "print(round($pytorch_wall / $descent_wall, 1))")
{
  echo "# Sweep of 20 tiny runs: Descent on 2 ranks against PyTorch in 2 processes"
  echo
  echo "$(date -u +%FT%TZ), $(nproc) cores; MLP 784-H-10, H = 4, 8, 16, 32, 64 × seeds 0-3, n = 4000 Fashion-MNIST, $epochs epochs, batch 128, SGD lr 0.01 momentum 0.9 Nesterov; test error at the end."
  echo
  echo "| | wall time of the sweep (s) | runs per second |"
  echo "|---|---:|---:|"
  echo "| Descent, \`mpirun -np 2 descent sweep\` (2 groups × 1 rank) | $descent_wall | $("$python" -c "print(round(20 / $descent_wall, 3))") |"
  echo "| PyTorch 2.13, a pool of 2 processes × 1 thread | $pytorch_wall | $("$python" -c "print(round(20 / $pytorch_wall, 3))") |"
  echo
  echo "Descent's throughput: **${ratio}×** PyTorch's (target ≥ 8×)."
  echo
  echo "Mean test error over the 20 runs: Descent $(cut -d, -f9 "$work/runs/tiny/results.csv" | tail -n +2 | "$python" -c "import sys; v=[float(l) for l in sys.stdin]; print(round(sum(v)/len(v),4))"), PyTorch $(grep -v summary "$work/pytorch.log" | "$python" -c "import json,sys; v=[json.loads(l)['test_error'] for l in sys.stdin]; print(round(sum(v)/len(v),4))")."
} | tee bench/results/sweep.md
