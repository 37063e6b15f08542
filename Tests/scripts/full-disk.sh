#!/usr/bin/env bash
# full-disk.sh — a run whose checkpoint does not fit on the disk stops with one clear line and a non-zero exit,
# leaves no partial file, and its previous checkpoint still validates and resumes; on 2 ranks as well, without
# hanging. The disk is a small tmpfs (needs root and permission to mount; skipped with a note otherwise).
set -euo pipefail
bin="$(realpath "${1:-.build/release/descent}")"
disk="$(mktemp -d)"
if ! mount -t tmpfs -o size=9m tmpfs "$disk" 2>/dev/null; then
  echo "full-disk: skipped (cannot mount a tmpfs here)"; rmdir "$disk"; exit 0
fi
trap 'umount "$disk"; rmdir "$disk"' EXIT
# 407,050 parameters: a checkpoint is 3.3 MB (parameters + momentum); two fit, a third does not.
cat > "$disk/job.toml" <<JOB
[run]
name = "full"
epochs = 3
output = "$disk"
[data]
subset = 600
test_subset = 100
[model]
hidden = [512]
[optim]
batch_size = 100
[checkpoint]
every = "2 steps"
keep = 5
JOB
status=0
"$bin" train "$disk/job.toml" --quiet > "$disk/out.log" 2> "$disk/err.log" || status=$?
errors=$(grep -c '^descent: ' "$disk/err.log" || true)
[[ $status != 0 ]] || { echo "full-disk: FAILED: the run succeeded on a full disk"; exit 1; }
[[ $errors == 1 && $(wc -l < "$disk/err.log") == 1 ]] || { cat "$disk/err.log"; echo "full-disk: FAILED: expected exactly one error line"; exit 1; }
grep -q "disk full" "$disk/err.log" || { cat "$disk/err.log"; echo "full-disk: FAILED: the line does not say the disk is full"; exit 1; }
ls -a "$disk/full/checkpoints" | grep -q '\.tmp$' && { echo "full-disk: FAILED: a partial checkpoint was left"; exit 1; }
latest="$disk/full/checkpoints/$(cat "$disk/full/checkpoints/latest")"
"$bin" inspect "$latest" > /dev/null || { echo "full-disk: FAILED: the previous checkpoint $latest does not validate"; exit 1; }
grep -q '"failed"' "$disk/full/status.json" || { echo "full-disk: FAILED: status.json does not say failed"; exit 1; }
echo "full-disk: ok: $(cat "$disk/err.log"); $latest still validates"

# The same on 2 ranks, where each rank writes its part of the checkpoint through MPI-IO: the rank whose write
# fails must end the job (the other is inside a collective HDF5 call), not leave it hanging.
rm -rf "$disk/full"
source "$(dirname "$0")/../../scripts/env.sh"
status=0
timeout 120 mpirun -np 2 "$bin" train "$disk/job.toml" --quiet > "$disk/out.log" 2> "$disk/err.log" || status=$?
[[ $status != 124 ]] || { cat "$disk/err.log"; echo "full-disk: FAILED: 2 ranks: the job hung (killed after 120 s)"; exit 1; }
[[ $status != 0 ]] || { echo "full-disk: FAILED: 2 ranks: the run succeeded on a full disk"; exit 1; }
grep -q '^descent: rank [01]: .*disk full' "$disk/err.log" || { cat "$disk/out.log" "$disk/err.log"; echo "full-disk: FAILED: 2 ranks: no line from the failing rank saying the disk is full"; exit 1; }
ls -a "$disk/full/checkpoints" | grep -q '\.tmp$' && { echo "full-disk: FAILED: 2 ranks: a partial checkpoint was left"; exit 1; }
latest="$disk/full/checkpoints/$(cat "$disk/full/checkpoints/latest")"
"$bin" inspect "$latest" > /dev/null || { echo "full-disk: FAILED: 2 ranks: the previous checkpoint $latest does not validate"; exit 1; }
grep -q '"failed"' "$disk/full/status.json" || { echo "full-disk: FAILED: 2 ranks: status.json does not say failed"; exit 1; }
echo "full-disk: ok on 2 ranks: $(grep '^descent: rank' "$disk/err.log" | head -1); $latest still validates"
