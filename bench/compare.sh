#!/usr/bin/env bash
# bench/compare.sh — Descent against PyTorch CPU, side by side in one run (a benchmark, never a test).
#
# Trains MLP 784-1024-10 and LeNet-5 on the real Fashion-MNIST with 1 process × 1 thread and 1 × 2 threads,
# Descent (`descent-bench epoch`) then PyTorch (bench/pytorch/train.py) for each configuration so that the
# machine's drift hits both alike; then the width-sweep regime (MLP 784-H-10 on 4,000 images, 1 thread,
# `descent-bench sweep` then bench/pytorch/width_sweep.py for each H); and cblas_sgemm 1024³ at 1 and 2 threads
# at the start and at the end (Descent also measures it before and after each of its epoch runs). All JSON lines
# go to bench/results/pytorch.jsonl; bench/compare_report.py turns them into bench/results/pytorch.md (printed).
# Installs PyTorch (CPU wheel from /opt/wheels) and numpy if missing, builds release, needs scripts/setup's
# packages. About 6 minutes with the defaults on a 2-core machine.
#
#   bench/compare.sh [--epochs E] [--sweep-epochs S] [--widths "4 8 16"] [--models "mlp lenet5"]
#                    [--threads "1 2"] [--no-build]
#   E = timed epochs after 1 warm-up (default 3, env EPOCHS); S = timed sweep epochs (default 5, ≥ 3, env
#   SWEEP_EPOCHS); widths default 4 8 16 32 64 128 256 512 1024 (env WIDTHS, "" skips the sweep); env PYTHON picks
#   the interpreter (default python3). Quick check: bench/compare.sh --epochs 1 --sweep-epochs 3 --widths "4 16"
set -euo pipefail
cd "$(dirname "$0")/.."

EPOCHS="${EPOCHS:-3}"
SWEEP_EPOCHS="${SWEEP_EPOCHS:-5}"
WIDTHS="${WIDTHS-4 8 16 32 64 128 256 512 1024}"
MODELS="${MODELS:-mlp lenet5}"
THREADS="${THREADS:-1 2}"
PYTHON="${PYTHON:-python3}"
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) EPOCHS="$2"; shift 2 ;;
    --sweep-epochs) SWEEP_EPOCHS="$2"; shift 2 ;;
    --widths) WIDTHS="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

source scripts/env.sh
RESULTS=bench/results
JSONL="$RESULTS/pytorch.jsonl"
REPORT="$RESULTS/pytorch.md"
mkdir -p "$RESULTS"

# 1. PyTorch (CPU) and numpy (bench/python_peers.sh).
source bench/python_peers.sh
install_python_peers compare.sh numpy

# 2. Descent, release build.
if [[ $BUILD -eq 1 ]]; then
  swift build -c release --product descent-bench
fi
BENCH=.build/release/descent-bench
[[ -x $BENCH ]] || { echo "compare.sh: $BENCH missing (run without --no-build)" >&2; exit 1; }

# 3. The runs, interleaved: Descent then PyTorch for each configuration. Every JSON line goes to $JSONL and the screen.
: >"$JSONL"
record() { "$@" | tee -a "$JSONL"; }
say() { echo "== $*" >&2; }

read -r load1 _ </proc/loadavg || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  echo "compare.sh: WARNING: load average $load1 before the run: other processes share the cores, so the ratios will be skewed (the report says so too)" >&2
fi
say "metadata"
# shellcheck disable=SC2086
record "$PYTHON" bench/compare_report.py meta --widths $WIDTHS
say "cblas_sgemm 1024³, start"
record "$BENCH" peak --threads 1 2
for model in $MODELS; do
  for t in $THREADS; do
    say "$model, 1 process × $t thread(s): Descent"
    record "$BENCH" epoch --model "$model" --epochs "$EPOCHS" --threads "$t"
    say "$model, 1 process × $t thread(s): PyTorch"
    record "$PYTHON" bench/pytorch/train.py --model "$model" --epochs "$((EPOCHS + 1))" --threads "$t"
  done
done
for h in $WIDTHS; do
  say "width sweep H = $h: Descent, then PyTorch"
  record "$BENCH" sweep --widths "$h" --n 4000 --epochs "$SWEEP_EPOCHS" --threads 1
  record "$PYTHON" bench/pytorch/width_sweep.py --widths "$h" --n 4000 --epochs "$SWEEP_EPOCHS" --threads 1
done
say "cblas_sgemm 1024³, end"
record "$BENCH" peak --threads 1 2
record "$PYTHON" bench/compare_report.py load

# 4. The report.
echo
"$PYTHON" bench/compare_report.py table --in "$JSONL" --out "$REPORT"
