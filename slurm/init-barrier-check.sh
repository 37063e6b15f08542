#!/usr/bin/env bash
# slurm/init-barrier-check.sh — does MPI_Init wait for every rank under srun on this cluster? Starts 2 nodes × 2
# ranks of a small MPI program with srun --mpi=pmix, holds rank 2 inside MPI_Init for 3 s (gdb, at the point where
# Open MPI registers its receive handlers), and prints when each rank left MPI_Init, once per PMIx fence given.
# Where the fence is no barrier, the ranks of node 1 leave ~3 s before rank 2 and may message a rank that cannot
# receive yet; with `tree` a rank of node 2 then dies of SIGSEGV. README, "srun and MPI_Init on several nodes".
#
#   slurm/init-barrier-check.sh [FENCE ...]     e.g. mixed tree ring (default: the environment's, else Slurm's)
#
# Needs mpicc (libopenmpi-dev) and gdb on the nodes (scripts/setup installs both), and 2 nodes to allocate.
# SlurmClusterTests runs it with `ring`, the fence slurm/srun.sbatch exports.
set -euo pipefail
for tool in mpicc gdb srun salloc; do
  command -v "$tool" >/dev/null || { echo "init-barrier-check: $tool not found" >&2; exit 2; }
done
work=$(mktemp -d /tmp/init-barrier-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/init.c" <<'C'
#include <mpi.h>
#include <stdio.h>
#include <sys/time.h>
static double now(void) { struct timeval t; gettimeofday(&t, 0); return t.tv_sec + t.tv_usec * 1e-6; }
int main(int argc, char **argv) {
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    double left = now();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    float x = 1, sum = 0;
    MPI_Allreduce(&x, &sum, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    printf("rank %d left MPI_Init at %.3f\n", rank, left);
    MPI_Finalize();
    return 0;
}
C
mpicc -O1 -o "$work/init" "$work/init.c"
cat > "$work/hold.sh" <<SH
#!/bin/bash
if [ "\$SLURM_PROCID" = 2 ]; then
  exec gdb -q -batch -ex "set breakpoint pending on" -ex "break mca_pml_ob1_add_procs" -ex run -ex "shell sleep 3" \
    -ex continue --args "\$@" 2>/dev/null | grep '^rank'
fi
exec "\$@"
SH
chmod +x "$work/hold.sh"
fences=("$@"); [ ${#fences[@]} -gt 0 ] || fences=("${SLURM_PMIX_FENCE:-}")
for fence in "${fences[@]}"; do
  if [ -n "$fence" ]; then export SLURM_PMIX_FENCE="$fence"; else unset SLURM_PMIX_FENCE; fi
  out=$(salloc -N 2 --ntasks-per-node=2 srun --mpi=pmix "$work/hold.sh" "$work/init" 2>&1 || true)
  t0=$(grep -o 'rank 0 left MPI_Init at [0-9.]*' <<<"$out" | awk '{print $NF}' || true)
  t2=$(grep -o 'rank 2 left MPI_Init at [0-9.]*' <<<"$out" | awk '{print $NF}' || true)
  label="fence ${fence:-unset (Slurm default or mpi.conf)}"
  if grep -q "Segmentation fault" <<<"$out"; then
    echo "$label: a rank died of SIGSEGV — MPI_Init is not a barrier"
  elif [ -n "$t0" ] && [ -n "$t2" ]; then
    awk -v a="$t0" -v b="$t2" -v l="$label" 'BEGIN { d = b - a; if (d < 0) d = 0; printf "%s: rank 0 left MPI_Init %.2f s before rank 2 — %s\n", l, d, (d > 1 ? "not a barrier" : "a barrier") }'
  else
    echo "$label: the program did not run to the end:"; echo "$out" | tail -5
  fi
done
