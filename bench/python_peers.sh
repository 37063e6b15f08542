# bench/python_peers.sh — sourced by the benchmark drivers: installs what the Python peers need for $PYTHON.
# PyTorch (CPU) the way ../shared/notes/peers.md installs it: the CPU wheel in /opt/wheels plus its pure-Python
# dependencies from PyPI; then the packages named. Debian's own python3 refuses pip installs (PEP 668) unless told
# --break-system-packages; a virtualenv or pyenv interpreter takes them as they are.
#
#   PYTHON=python3; source bench/python_peers.sh; install_python_peers NAME numpy [tifffile h5py …]
#   (NAME prefixes the messages, e.g. compare.sh)

pip_install() {
  local log
  log=$(mktemp)
  if "$PYTHON" -m pip install "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
  if grep -q externally-managed-environment "$log"; then
    rm -f "$log"
    "$PYTHON" -m pip install --break-system-packages "$@"
  else
    cat "$log" >&2; rm -f "$log"; return 1
  fi
}

install_python_peers() {
  local name="$1"; shift
  local imports
  imports=$(printf ', %s' torch "$@"); imports=${imports:2}
  "$PYTHON" -c "import $imports" 2>/dev/null && return 0
  if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    echo "$name: installing python3-pip"
    local SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-pip
  fi
  if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    local wheels
    shopt -s nullglob
    wheels=(/opt/wheels/torch-*+cpu-*.whl)
    shopt -u nullglob
    [[ ${#wheels[@]} -gt 0 ]] || { echo "$name: no /opt/wheels/torch-*+cpu-*.whl; HINT: install a CPU build of torch for $PYTHON by hand, or set PYTHON to an interpreter that has one" >&2; exit 1; }
    echo "$name: installing ${wheels[-1]}"
    pip_install "${wheels[-1]}"
  fi
  local pkg
  for pkg in "$@"; do
    "$PYTHON" -c "import $pkg" 2>/dev/null || pip_install "$pkg"
  done
}
