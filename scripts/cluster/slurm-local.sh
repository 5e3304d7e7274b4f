#!/usr/bin/env bash
# A real Slurm on this one machine, for trying the cluster scripts and for CI:
# Debian's slurm-wlm (slurmctld, slurmd, client commands) and munge, with every
# config, state, socket and log file under one folder ($FREQTAG_SLURM_DIR,
# default /tmp/freqtag-slurm). Run as root (as CI and the dev machines do).
#
#     scripts/cluster/slurm-local.sh start     # install if missing, write the configs, start, wait until idle
#     eval "$(scripts/cluster/slurm-local.sh env)"   # SLURM_CONF for sbatch, squeue, sinfo … in this shell
#     scripts/cluster/slurm-local.sh status    # daemons and sinfo
#     scripts/cluster/slurm-local.sh stop      # stop the daemons (queue and state are kept)
#     scripts/cluster/slurm-local.sh reset     # stop and remove the folder (next start: empty queue)
#
# The cluster: one controller (slurmctld) and FREQTAG_SLURM_NODES compute nodes
# (default 2), each a slurmd of its own on this host (node names n1, n2, …,
# ports 16818, 16819, …), each offering all of this machine's cores, in one
# partition `debug`. Jobs run as the submitting user; processes are tracked by
# process group (no cgroups needed). Timeouts are short, for tests: a lost node
# is DOWN about 15 s after its slurmd stops answering, a requeueable job that
# ran on it starts again about 6 s later (cred_expire), and the node returns to
# service when its slurmd registers again. `start` is idempotent: daemons
# already running are left alone, stale pid files are ignored, nodes left DOWN
# are resumed, and it returns once every node is up (or fails, showing the logs).
#
# The daemons read $FREQTAG_SLURM_DIR/etc/slurm.conf; clients find it through
# SLURM_CONF, which `env` prints. Nothing is written outside the folder except
# the Debian packages that `start` installs when missing.
set -euo pipefail

DIR=${FREQTAG_SLURM_DIR:-/tmp/freqtag-slurm}
NODES=${FREQTAG_SLURM_NODES:-2}
CTLD_PORT=${FREQTAG_SLURM_PORT:-16817}   # slurmd n<i> listens on CTLD_PORT + i
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF

say() { echo "slurm-local: $*" >&2; }
die() { say "error: $*"; exit 1; }

alive() { # alive PIDFILE NAME: the pid file names a running process called NAME
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] && [[ $(<"/proc/$pid/comm") == "$2" ]] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null # a zombie is dead too
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) == 0 ]] || die "needs root to install ${missing[*]} (apt-get)"
    say "installing ${missing[*]} (Debian's slurm-wlm and munge)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The packages' own services are not started (no systemd here, and the
    # daemons below use their own config); slurm-wlm pulls in the same three.
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >"$DIR/log/apt.log" 2>&1 ||
        { cat "$DIR/log/apt.log" >&2; die "apt-get install slurm-wlm munge failed"; }
}

write_configs() {
    local host cpus mem i nodes=""
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512))
    for ((i = 1; i <= NODES; i++)); do
        nodes+="NodeName=n$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$((CTLD_PORT + i)) CPUs=$cpus RealMemory=$mem State=UNKNOWN"$'\n'
    done
    cat >"$CONF.new" <<EOF
# Written by scripts/cluster/slurm-local.sh: a one-machine Slurm under $DIR.
ClusterName=freqtag
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=5
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
# look at the queue every 2 s (a requeued job waits cred_expire, then starts at the next pass)
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A lost node is DOWN after SlurmdTimeout (pinged every SlurmdTimeout/3, each
# ping waiting MessageTimeout); its requeueable jobs are requeued, held for
# cred_expire, and it returns to service when its slurmd registers again.
SlurmdTimeout=5
MessageTimeout=5
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
InactiveLimit=0
${nodes}PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -s $CONF ]] && ! cmp -s "$CONF.new" "$CONF"; then
        say "slurm.conf changed: restarting the daemons"
        cmd_stop
    fi
    mv "$CONF.new" "$CONF"
}

start_munge() {
    local m=$DIR/munge
    alive "$m/munged.pid" munged && return 0
    if [[ ! -s $m/munge.key ]]; then
        dd if=/dev/urandom of="$m/munge.key.new" bs=1 count=1024 status=none
        chmod 0400 "$m/munge.key.new"
        mv "$m/munge.key.new" "$m/munge.key"
    fi
    rm -f "$m/munge.socket" "$m/munge.socket.lock"
    munged --force --socket="$m/munge.socket" --key-file="$m/munge.key" --pid-file="$m/munged.pid" \
        --log-file="$DIR/log/munged.log" --seed-file="$m/munged.seed" ||
        { tail -20 "$DIR/log/munged.log" >&2; die "munged did not start"; }
}

start_daemons() {
    local i
    if ! alive "$DIR/run/slurmctld.pid" slurmctld; then
        rm -f "$DIR/run/slurmctld.pid"
        slurmctld -f "$CONF" || { tail -20 "$DIR/log/slurmctld.log" >&2; die "slurmctld did not start"; }
    fi
    for ((i = 1; i <= NODES; i++)); do
        start_node "n$i"
    done
}

start_node() { # start_node NAME: (re)start one node's slurmd
    alive "$DIR/run/slurmd-$1.pid" slurmd && return 0
    mkdir -p "$DIR/spool/$1"
    rm -f "$DIR/run/slurmd-$1.pid"
    slurmd -f "$CONF" -N "$1" || { tail -20 "$DIR/log/slurmd-$1.log" >&2; die "slurmd $1 did not start"; }
}

wait_idle() { # every node idle (or mixed/allocated: up and taking jobs), 60 s at most
    local t states
    for ((t = 0; t < 120; t++)); do
        states=$(sinfo -h -N -o '%N %T' 2>/dev/null || true)
        # nodes that were DOWN (a lost node, a stale state) come back once their slurmd answers
        if [[ -n $states ]] && ! grep -qvE ' (idle|mixed|allocated)$' <<<"$states"; then
            [[ $(wc -l <<<"$states") -ge $NODES ]] && return 0
        fi
        if ((t % 10 == 9)) && grep -qE ' (down|drain|drained)\*?$' <<<"$states"; then
            scontrol update nodename="$(awk '/ (down|drain|drained)\*?$/ {print $1}' <<<"$states" | paste -sd,)" \
                state=resume 2>/dev/null || true
        fi
        sleep 0.5
    done
    sinfo -N -l >&2 || true
    tail -5 "$DIR"/log/slurm*.log >&2 || true
    die "nodes not idle after 60 s"
}

cmd_start() {
    mkdir -p "$DIR"/{etc,state,spool,run,log,munge}
    chmod 0700 "$DIR/munge"
    install_packages
    write_configs
    start_munge
    start_daemons
    wait_idle
    say "up: $(sinfo -h -o '%D node(s) %T in partition %P' | paste -sd';'), config $CONF"
}

cmd_stop() {
    local f name
    for f in "$DIR"/run/slurmd-*.pid "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid"; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .pid)
        name=${name%%-*}
        if alive "$f" "$name"; then
            kill "$(<"$f")" 2>/dev/null || true
            for _ in {1..40}; do alive "$f" "$name" || break; sleep 0.25; done
            if alive "$f" "$name"; then kill -9 "$(<"$f")" 2>/dev/null || true; fi
        fi
        rm -f "$f"
    done
    say "stopped"
}

case ${1:-start} in
start) cmd_start ;;
stop) cmd_stop ;;
reset) cmd_stop; rm -rf "$DIR"; say "removed $DIR" ;;
restart-node) # restart-node NAME: start a node's slurmd again (after it was killed)
    start_node "${2:?usage: slurm-local.sh restart-node NAME}" ;;
env) echo "export SLURM_CONF=$CONF" ;;
status)
    for f in "$DIR"/run/*.pid "$DIR/munge/munged.pid"; do
        [[ -e $f ]] || continue
        n=$(basename "$f" .pid)
        if alive "$f" "${n%%-*}"; then echo "$n: running (pid $(<"$f"))"; else echo "$n: not running"; fi
    done
    sinfo -N -l || true ;;
*) die "usage: slurm-local.sh [start|stop|reset|status|env|restart-node NAME]" ;;
esac
