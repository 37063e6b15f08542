#!/usr/bin/env bash
# kill-resume.sh — a 2-rank run on real Fashion-MNIST is killed again and again and resumed each time; its final
# parameters and momentum must equal an uninterrupted run's, byte for byte (cmp).
#   - kill -9 of one rank at random instants (a checkpoint is written every 2 steps, so many land inside a write;
#     mpirun then ends the other rank), then the same command again (resume auto);
#   - SIGUSR1 to mpirun (which forwards it) and SIGTERM to the ranks at random instants: the run must checkpoint,
#     exit 75, and continue exactly when restarted.
# Short form in the test suite (KILLS=3, SIGNALS=2); the long form by hand:
#   KILLS=20 SIGNALS=6 EPOCHS=25 Tests/scripts/kill-resume.sh
set -euo pipefail
bin="$(realpath "${1:-.build/release/descent}")"
kills="${KILLS:-3}"; signals="${SIGNALS:-2}"; epochs="${EPOCHS:-5}"   # the long form wants EPOCHS=25
work="$(mktemp -d)"; trap 'pkill -9 -f "^$bin train $work/job.toml" 2>/dev/null || true; rm -rf "$work"' EXIT
python=/usr/bin/python3   # Debian's, with python3-h5py

cat > "$work/job.toml" <<EOF
[run]
seed = 5
epochs = $epochs
output = "$work"
[data]
subset = 6000
test_subset = 500
[model]
architecture = "mlp"
hidden = [512]
dropout = 0.1
[optim]
batch_size = 50
lr = 0.05
momentum = 0.9
nesterov = true
[checkpoint]
every = "2 steps"
keep = 2
EOF
train() {  # train NAME: the job on 2 ranks, in its own run directory
  mpirun -np 2 "$bin" train "$work/job.toml" --quiet --set run.name="$1"
}
# The run under attack, started as a simple command so that $! is mpirun itself (which forwards signals).
victim=(mpirun -np 2 "$bin" train "$work/job.toml" --quiet --set run.name=victim)

extract() {  # extract RUN: /params and /optimizer/momentum of final.h5 as raw bytes
  "$python" - "$1" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1] + "/final.h5", "r") as f:
    open(sys.argv[1] + "/state.bin", "wb").write(f["params"][()].tobytes() + f["optimizer/momentum"][()].tobytes())
EOF
}

start=$(date +%s.%N)
train reference > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; echo "kill-resume: the reference run FAILED"; exit 1; }
duration=$("$python" -c "print($(date +%s.%N) - $start)")
extract "$work/reference"

# Within the first ~1.5 s of an attempt: start-up (reading the data) and the first steps and checkpoint writes.
random_instant() { "$python" -c "import random; print(round(random.uniform(0.3, min(1.2, max(0.6, $duration * 0.5))), 2))"; }
finished() { grep -q '"finished"' "$work/victim/status.json" 2>/dev/null; }

round=0
for i in $(seq 1 "$kills"); do
  finished && break
  "${victim[@]}" > "$work/round.log" 2>&1 &
  launcher=$!
  sleep "$(random_instant)"
  rank=$(pgrep -f "^$bin train $work/job.toml" | head -1 || true)   # a rank, not mpirun
  [[ -n "$rank" ]] && kill -9 "$rank" 2>/dev/null || true
  wait "$launcher" || true
  round=$((round + 1))
  echo "kill-resume: kill -9 round $round: status $(grep -o '"status": "[a-z]*"' "$work/victim/status.json" 2>/dev/null || echo none)"
done
sent=0
for i in $(seq 1 "$signals"); do
  finished && break
  sent=$((sent + 1))
  sig=$([[ $((i % 2)) == 0 ]] && echo USR1 || echo TERM)
  "${victim[@]}" > "$work/round.log" 2>&1 &
  launcher=$!
  sleep "$(random_instant)"
  # SIGUSR1 to mpirun, which forwards it; SIGTERM to every rank, as Slurm delivers it to each task (mpirun
  # itself would end the job after a short grace period on SIGTERM, whatever the ranks were doing).
  if [[ "$sig" == USR1 ]]; then kill -s USR1 "$launcher" 2>/dev/null || true
  else pkill -TERM -f "^$bin train $work/job.toml" || true; fi
  status=0; wait "$launcher" || status=$?
  if ! finished; then
    grep -q '"stopped"' "$work/victim/status.json" || { cat "$work/round.log"; echo "kill-resume: SIG$sig did not stop the run with a checkpoint (exit $status)"; exit 1; }
    [[ "$status" == 75 ]] || { cat "$work/round.log"; echo "kill-resume: SIG$sig: exit status $status, expected 75"; exit 1; }
  fi
  echo "kill-resume: SIG$sig round: exit $status, status $(grep -o '"status": "[a-z]*"' "$work/victim/status.json")"
done
train victim > "$work/last.log" 2>&1 || { cat "$work/last.log"; echo "kill-resume: the final resume FAILED"; exit 1; }
extract "$work/victim"
if cmp "$work/reference/state.bin" "$work/victim/state.bin"; then
  echo "kill-resume: ok: parameters and momentum identical to the uninterrupted run after $round kill -9 round(s) and $sent signal round(s) (reference run: $duration s)"
else
  echo "kill-resume: FAILED: the resumed run's parameters differ from the uninterrupted run's"; exit 1
fi
