#!/usr/bin/env bash
# bench/segment.sh — segmentation throughput (issue 9): `descent glass segment` on 1 and 2 ranks against a PyTorch
# implementation of the same U-Net run tile by tile on the same image (bench/pytorch/segment.py), in one run, in MB
# of image per second (a benchmark, never a test).
#
# Makes a synthetic line-scan image (`descent glass synth`), cuts 64 × 64 tiles of it and trains the U-Net for one
# epoch on a few of them (`descent glass tiles`, `descent train`) only to have a Descent model file, then runs, R
# times, alternating so that the machine's drift hits all alike: Descent 1 rank, PyTorch 1 process × 1 thread,
# Descent 2 ranks (mpirun -np 2), PyTorch 1 process × 2 threads. PyTorch loads the Descent model's weights (same
# function; the first PyTorch run also counts the pixels where the two masks agree). The image, tiles and model stay
# in the work directory and are reused by the next run of the same size and model (--fresh remakes them). Writes
# bench/results/segment.md (printed); the run's JSON lines go to WORK/segment.jsonl. Installs tifffile and h5py
# (and PyTorch, as compare.sh does) if missing. Uses the existing .build/release/descent (no build).
#
#   bench/segment.sh [--width W] [--height H] [--depth D] [--channels C] [--batchnorm true|false] [--repeats R]
#                    [--tile-rows 256] [--tile-columns 512] [--halo 64] [--work DIR] [--fresh]
#   Defaults: 16384 × 2048 (≈ 33 MB), depth 4, channels 8, batchnorm true (jobs/glass-unet.toml's model), R = 1,
#   work directory /tmp/descent-segment-bench (env SEGMENT_WORK). The full 500 MB image: --height 30518.
#   Quick check: bench/segment.sh --width 4096 --height 1024 --depth 2 --channels 4
set -euo pipefail
cd "$(dirname "$0")/.."

WIDTH=16384; HEIGHT=2048; DEPTH=4; CHANNELS=8; BATCHNORM=true; REPEATS=1
TILE_ROWS=256; TILE_COLUMNS=512; HALO=64
WORK="${SEGMENT_WORK:-/tmp/descent-segment-bench}"
FRESH=0
PYTHON="${PYTHON:-python3}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --width) WIDTH="$2"; shift 2 ;;
    --height) HEIGHT="$2"; shift 2 ;;
    --depth) DEPTH="$2"; shift 2 ;;
    --channels) CHANNELS="$2"; shift 2 ;;
    --batchnorm) BATCHNORM="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --tile-rows) TILE_ROWS="$2"; shift 2 ;;
    --tile-columns) TILE_COLUMNS="$2"; shift 2 ;;
    --halo) HALO="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "segment.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $BATCHNORM == true || $BATCHNORM == false ]] || { echo "segment.sh: --batchnorm true|false" >&2; exit 2; }
[[ $REPEATS -ge 1 ]] || { echo "segment.sh: --repeats ≥ 1" >&2; exit 2; }

source scripts/env.sh
DESCENT="$(pwd)/.build/release/descent"
[[ -x $DESCENT ]] || { echo "segment.sh: $DESCENT missing: build it first (swift build -c release)" >&2; exit 1; }
RESULTS=bench/results
REPORT="$RESULTS/segment.md"
mkdir -p "$RESULTS" "$WORK"
WORK="$(cd "$WORK" && pwd)"

# 1. Python packages: PyTorch CPU and numpy as compare.sh installs them (bench/python_peers.sh), plus tifffile
#    (the image, memory-mapped) and h5py (Descent's model file and mask).
source bench/python_peers.sh
install_python_peers segment.sh numpy tifffile h5py

say() { echo "== $*" >&2; }

# 2. The image and a model file, reused when they exist (the image by size, the model by size and architecture).
IMAGES="$WORK/image-${WIDTH}x${HEIGHT}"
IMAGE="$IMAGES/glass-0.tif"
MODELDIR="$WORK/model-${WIDTH}x${HEIGHT}-d${DEPTH}-c${CHANNELS}-bn${BATCHNORM}"
MODEL="$MODELDIR/runs/seg/final.h5"
if [[ $FRESH -eq 1 ]]; then rm -rf "$IMAGES" "$MODELDIR"; fi
if [[ ! -f $IMAGE ]]; then
  say "synthetic image ${WIDTH} × ${HEIGHT}"
  rm -rf "$IMAGES"
  "$DESCENT" glass synth --out "$IMAGES" --images 1 --width "$WIDTH" --height "$HEIGHT"
fi
if [[ ! -f $MODEL || ! -f $MODELDIR/train.log ]]; then
  say "a model file: U-Net depth $DEPTH, channels $CHANNELS, batchnorm $BATCHNORM, 1 epoch on 64 × 64 tiles"
  rm -rf "$MODELDIR"
  mkdir -p "$MODELDIR/tiles"
  "$DESCENT" glass tiles "$IMAGE" --out "$MODELDIR/tiles/train.h5" --tile 64 | tee "$MODELDIR/tiles.log" >&2
  "$DESCENT" glass tiles "$IMAGE" --out "$MODELDIR/tiles/test.h5" --tile 64 --seed 1 | tee -a "$MODELDIR/tiles.log" >&2
  # At most 512 training and 256 test tiles: the model only has to exist, its accuracy does not matter here.
  count() { sed -n "s|^.*/tiles/$1\.h5: \([0-9]*\) tiles of.*|\1|p" "$MODELDIR/tiles.log"; }
  n_train=$(count train); n_test=$(count test)
  subset=$(( n_train > 512 ? 512 : 0 )); test_subset=$(( n_test > 256 ? 256 : 0 ))
  cat >"$MODELDIR/seg.toml" <<EOF
# Written by bench/segment.sh: a model file for the segmentation benchmark (accuracy irrelevant).
[run]
name = "seg"
output = "$MODELDIR/runs"
epochs = 1
seed = 0

[data]
set = "hdf5"
path = "$MODELDIR/tiles"
normalize = "unit"
subset = $subset
test_subset = $test_subset

[model]
architecture = "unet"
depth = $DEPTH
channels = $CHANNELS
batchnorm = $BATCHNORM

[optim]
batch_size = 16

[eval]
batch_size = 16
EOF
  "$DESCENT" train "$MODELDIR/seg.toml" --quiet --no-resume | tee "$MODELDIR/train.log.partial" >&2
  mv "$MODELDIR/train.log.partial" "$MODELDIR/train.log"
fi

# 3. The runs. Every JSON line goes to $JSONL and the screen.
JSONL="$WORK/segment.jsonl"
: >"$JSONL"
record() { "$@" | tee -a "$JSONL"; }
read -r load1 _ </proc/loadavg || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  echo "segment.sh: WARNING: load average $load1 before the run: other processes share the cores, so the ratios will be skewed (the report says so too)" >&2
fi
record "$PYTHON" bench/segment_report.py meta width="$WIDTH" height="$HEIGHT" depth="$DEPTH" channels="$CHANNELS" \
  batchnorm="$BATCHNORM" repeats="$REPEATS" tile_rows="$TILE_ROWS" tile_columns="$TILE_COLUMNS" halo="$HALO" image="$IMAGE" model="$MODEL"
record "$PYTHON" bench/segment_report.py setup --train-log "$MODELDIR/train.log" --depth "$DEPTH" --channels "$CHANNELS" --batchnorm "$BATCHNORM"
cat "$IMAGE" >/dev/null   # into the page cache: no run pays for the first read from disk

now() { date +%s.%N; }
descent_run() {   # ranks repeat
  local ranks=$1 r=$2 out="$WORK/pred-$1" log="$WORK/descent-$1.log" t0 t1
  rm -rf "$out"
  t0=$(now)
  if [[ $ranks -eq 1 ]]; then
    "$DESCENT" glass segment "$MODEL" "$IMAGE" --out "$out" --tile-rows "$TILE_ROWS" --tile-columns "$TILE_COLUMNS" --halo "$HALO" >"$log" 2>&1
  else
    mpirun -np "$ranks" "$DESCENT" glass segment "$MODEL" "$IMAGE" --out "$out" --tile-rows "$TILE_ROWS" --tile-columns "$TILE_COLUMNS" --halo "$HALO" >"$log" 2>&1
  fi || { cat "$log" >&2; exit 1; }
  t1=$(now)
  grep "segmented in" "$log" >&2 || true
  record "$PYTHON" bench/segment_report.py descent --log "$log" --ranks "$ranks" --label "repeat $r" --wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}
pytorch_run() {   # threads repeat [extra arguments]
  local threads=$1 r=$2 t0 t1 line
  shift 2
  t0=$(now)
  line=$(OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" "$PYTHON" bench/pytorch/segment.py "$IMAGE" \
    --depth "$DEPTH" --channels "$CHANNELS" $([[ $BATCHNORM == true ]] && echo --batchnorm) \
    --tile-rows "$TILE_ROWS" --tile-columns "$TILE_COLUMNS" --halo "$HALO" --threads "$threads" \
    --weights "$MODEL" --label "repeat $r" "$@")
  t1=$(now)
  echo "$line" | "$PYTHON" -c 'import json, sys; l = json.loads(sys.stdin.read()); l["wall_s"] = float(sys.argv[1]); print(json.dumps(l))' \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" | tee -a "$JSONL"
}
for r in $(seq 1 "$REPEATS"); do
  say "repeat $r of $REPEATS: Descent, 1 rank"
  descent_run 1 "$r"
  say "repeat $r of $REPEATS: PyTorch, 1 process × 1 thread"
  if [[ $r -eq 1 ]]; then pytorch_run 1 "$r" --compare "$WORK/pred-1/glass-0-pred.h5"; else pytorch_run 1 "$r"; fi
  say "repeat $r of $REPEATS: Descent, 2 ranks (mpirun -np 2)"
  descent_run 2 "$r"
  say "repeat $r of $REPEATS: PyTorch, 1 process × 2 threads"
  pytorch_run 2 "$r"
done
record "$PYTHON" bench/segment_report.py load

# 4. The report.
echo
"$PYTHON" bench/segment_report.py table --in "$JSONL" --out "$REPORT"
