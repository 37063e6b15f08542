#!/usr/bin/env bash
# no-allocation-in-step.sh — the training step allocates nothing once the model is built: valgrind's heap
# allocation count after K and after 2K steps must be equal, for an MLP with dropout, LeNet-5, a ResNet and a
# U-Net. One OpenBLAS thread, as every rank runs (OpenBLAS's own threaded sgemm mallocs a job queue per call).
set -euo pipefail
bench="${1:-.build/release/descent-bench}"
command -v valgrind >/dev/null || { echo "no-allocation-in-step: valgrind not installed (scripts/setup installs it)"; exit 1; }
# Valgrind 3.19 cannot read the DWARF 5 debug information Swift 6.3 emits ("Possibly corrupted debuginfo file.
# I can't recover."): run a copy without it.
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
objcopy --strip-debug "$bench" "$stripped"
# Valgrind 3.19 cannot run AVX-512 either: OpenBLAS's generic SSE3 kernels, set here so that descent-bench does not
# switch to the AVX-512 ones of a CPU OpenBLAS 0.3.21 does not know (Tensor/BLASKernels.swift).
count() {
  OPENBLAS_CORETYPE=Prescott OPENBLAS_NUM_THREADS=1 valgrind "$stripped" steps --model "$1" --steps "$2" 2>&1 |
    sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d , || true   # no count → FAILED below
}
status=0
for model in mlp lenet5 resnet unet; do
  a=$(count "$model" 2); b=$(count "$model" 4)
  if [[ -z "$a" || "$a" == 0 || "$a" != "$b" ]]; then   # 0: the program did not run
    echo "no-allocation-in-step: $model FAILED: $a allocations after 2 steps, $b after 4"; status=1
  else
    echo "no-allocation-in-step: $model ok ($a allocations in all, none per step)"
  fi
done
exit $status
