#!/usr/bin/env bash
# slurm/cluster.sh — a real single-host Slurm cluster for trying Descent's Slurm path on a laptop and for the
# tests: munged, slurmctld and N slurmd emulating N nodes (advertising C CPUs each), all under one directory, no
# systemd, no cgroups. Every fix it applies is explained in ../shared/notes/slurm.md.
#
#   slurm/cluster.sh start [--nodes N] [--cpus C] [--dir DIR]   start (idempotent: a running cluster is left as is)
#   slurm/cluster.sh stop  [--dir DIR]                           cancel jobs, stop every daemon (safe to run twice)
#   slurm/cluster.sh status [--dir DIR]
#
# DIR defaults to /tmp/descent-slurm; N = 2, C = 2. Needs root and the packages slurm-wlm and munge
# (scripts/setup installs them). /etc/slurm/slurm.conf is pointed at DIR/etc/slurm.conf so that sbatch, srun,
# squeue and sacct find the cluster.
set -euo pipefail
command="${1:-}"; shift || true
nodes=2; cpus=2; dir=/tmp/descent-slurm
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

alive() {  # alive PIDFILE: the daemon of this pid file runs (zombies count as gone)
  local pid; pid=$(cat "$1" 2>/dev/null) || return 1  # the daemon removes its pid file as it exits
  [[ -n $pid && -d /proc/$pid ]] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

daemons_alive() {
  local f
  for f in "$dir"/run/*.pid; do alive "$f" && return 0; done
  return 1
}

wait_gone() {  # wait_gone SECONDS PIDFILE…: wait for daemons to exit, then SIGKILL them
  local limit="$1"; shift
  for _ in $(seq 1 $((limit * 10))); do
    local any=0 f
    for f in "$@"; do alive "$f" && any=1; done
    [[ $any == 0 ]] && return 0
    sleep 0.1
  done
  for f in "$@"; do alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null || true; done
}

start() {
  for tool in munged mungekey slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "cluster.sh: $tool not found: install slurm-wlm and munge (scripts/setup)" >&2; exit 1; }
  done
  if daemons_alive; then echo "cluster.sh: already running under $dir"; return 0; fi
  rm -rf "$dir"
  mkdir -p "$dir"/{etc,run,log,state,spool,tmp,munge}
  chmod 755 "$dir" "$dir/munge"   # munged: "execute permissions for all required" on its socket's directory
  for i in $(seq 1 "$nodes"); do mkdir -p "$dir/spool/node$i" "$dir/tmp/node$i"; done

  mungekey --create --keyfile="$dir/munge/munge.key" --force >/dev/null 2>&1
  chmod 600 "$dir/munge/munge.key"
  munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
         --seed-file="$dir/munge/seed" --log-file="$dir/log/munged.log"

  # OpenMPI's shared-memory transport names segments by hostname and local rank: across nodes emulated on one
  # host they collide and ranks crash. Jobs spanning several nodes use TCP unless they chose otherwise.
  cat > "$dir/etc/task_prolog.sh" <<'PROLOG'
#!/bin/sh
if [ "${SLURM_NNODES:-1}" -gt 1 ] && [ -z "${OMPI_MCA_btl:-}" ]; then echo "export OMPI_MCA_btl=self,tcp"; fi
PROLOG
  chmod 755 "$dir/etc/task_prolog.sh"

  local memory; memory=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
  {
    echo "# written by slurm/cluster.sh"
    echo "ClusterName=descent"
    echo "SlurmctldHost=localhost"
    echo "SlurmUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "# cred_expire also sets how long a requeued job waits before it may start again (default 120 s)"
    echo "AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmdSpoolDir=$dir/spool/%n"
    echo "SlurmctldPidFile=$dir/run/slurmctld.pid"
    echo "SlurmdPidFile=$dir/run/slurmd-%n.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
    echo "# per-node TmpFS: PMIx creates <TmpFS>/spmix_appdir_<uid>_<job>.<step>, which collides on one host"
    echo "TmpFS=$dir/tmp/%n"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "JobCompType=jobcomp/filetxt"
    echo "JobCompLoc=$dir/log/jobcomp.txt"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_CPU"
    echo "ReturnToService=2"
    echo "MpiDefault=pmix"
    echo "MailProg=/bin/true"
    echo "SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2"
    echo "SlurmdParameters=config_overrides"
    echo "AccountingStorageType=accounting_storage/none"
    echo "TaskProlog=$dir/etc/task_prolog.sh"
    for i in $(seq 1 "$nodes"); do
      echo "NodeName=node$i NodeHostname=localhost Port=$((17000 + i)) CPUs=$cpus RealMemory=$memory State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } > "$dir/etc/slurm.conf"
  mkdir -p /etc/slurm
  ln -sf "$dir/etc/slurm.conf" /etc/slurm/slurm.conf

  slurmctld -f "$dir/etc/slurm.conf"
  for i in $(seq 1 "$nodes"); do slurmd -f "$dir/etc/slurm.conf" -N "node$i"; done
  for _ in $(seq 1 100); do
    [[ $(sinfo -h -o %T 2>/dev/null | grep -c idle || true) -ge 1 ]] && [[ $(sinfo -h -N -o %T | grep -vc idle || true) == 0 ]] && break
    sleep 0.1
  done
  sinfo -h -N -o %T | grep -qv idle && { echo "cluster.sh: nodes did not come up idle:"; sinfo -N; exit 1; }
  echo "cluster.sh: $nodes node(s) × $cpus CPU(s) up under $dir (partition debug)"
}

stop() {
  [[ -d "$dir/run" ]] || { echo "cluster.sh: nothing running under $dir"; return 0; }
  if alive "$dir/run/slurmctld.pid"; then
    scancel --quiet --full -u root 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -z "$(squeue -h 2>/dev/null)" ]] && break; sleep 0.1; done
  fi
  # slurmstepd ignores SIGTERM: kill this cluster's (working directory under $dir) and its children.
  local pid
  for pid in $(pgrep -f slurmstepd || true); do
    if [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$dir"* ]]; then
      pkill -9 -P "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if alive "$dir/run/slurmctld.pid"; then scontrol shutdown >/dev/null 2>&1 || true; fi
  wait_gone 15 "$dir"/run/slurm*.pid
  for pid in "$dir"/run/slurm*.pid; do alive "$pid" && kill -9 "$(cat "$pid")" 2>/dev/null; done
  alive "$dir/run/munged.pid" && kill "$(cat "$dir/run/munged.pid" 2>/dev/null)" 2>/dev/null || true
  wait_gone 5 "$dir/run/munged.pid"
  rm -f "$dir"/run/*.pid
  echo "cluster.sh: stopped"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) if daemons_alive; then sinfo; squeue; else echo "cluster.sh: not running under $dir"; exit 1; fi ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
