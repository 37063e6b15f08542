# scripts/env.sh — the environment every Descent script runs in (sourced, not executed).
# Open MPI refuses root unless both variables are set; the tests run 4 ranks on 2 cores (oversubscribe).
export PATH="/opt/swift/usr/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# One OpenBLAS thread per rank unless the user chose otherwise (ranks fight over cores otherwise).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# SwiftPM leaves temporary folders behind on every build: keep them inside the build directory.
export TMPDIR="${DESCENT_TMPDIR:-$(pwd)/.build/tmp}"
mkdir -p "$TMPDIR"
