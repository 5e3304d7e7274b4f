#!/usr/bin/env bash
# The cluster recipes on a real Slurm (scripts/cluster/slurm-local.sh: Debian's
# slurm-wlm on this machine, two nodes), the way a user runs them:
#
#  1. a small MNIST sweep (8 points) as a job array of 4 shards with
#     slurm-sweep.sbatch, each shard in its own folder (FREQTAG_SHARD_DIRS=1), and
#     slurm-merge.sbatch chained after it (afterany); one task is killed with
#     SIGKILL in the middle of a point, so the task fails and the merge job
#     fails naming the shard to resubmit; the test runs the command the merge job
#     printed (`sbatch --array=1 …`) and the merge again, which completes;
#     resubmissions with a wrong shard count or index are refused;
#  2. the same sweep in one shared folder, where a node is lost mid-run (its
#     slurmd, slurmstepd and job processes killed with SIGKILL): Slurm marks it
#     DOWN and requeues its tasks on the other node, the node comes back, and
#     the sweep completes;
#
# and after each, the merged tables equal an unsharded local run (`freqtag sweep
# FILE --out LOCAL`) file for file and byte for byte (every point's Parquet
# partition; so row for row), with no point missing or extra and no temporary
# file (`.*.tmp`) left. Ends with `slurm: N passed, M failed`; exits non-zero
# on any failure. Needs root (installs slurm-wlm and munge when missing) and
# FREQTAG (default: `freqtag` on PATH).
#
#     FREQTAG=target/debug/freqtag scripts/cluster/test-slurm.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FREQTAG=${FREQTAG:-$(command -v freqtag || true)}
[[ -n $FREQTAG && -x $FREQTAG ]] || { echo "test-slurm: set FREQTAG to the freqtag binary" >&2; exit 2; }
FREQTAG=$(realpath "$FREQTAG")
export FREQTAG
export FREQTAG_SLURM_DIR=${FREQTAG_SLURM_DIR:-/tmp/freqtag-slurm}
data=$(cd "$here/../../data" && pwd)
t0=$(date +%s)

passed=0 failed=0 W="" started_slurm=0 lost_node=""
say() { echo "[$(($(date +%s) - t0)) s] $*"; }
ok() { passed=$((passed + 1)); say "ok   $*"; }
bad() { failed=$((failed + 1)); say "FAIL $*"; }
check() { # check DESCRIPTION COMMAND…
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND…: poll every 0.2 s (COMMAND is rerun:
    # anything to re-evaluate goes in single quotes through eval)
    local limit=$(($(date +%s) + $1)) what=$2
    shift 2
    until "$@"; do
        (($(date +%s) < limit)) || { bad "$what (not within the time limit)"; return 1; }
        sleep 0.2
    done
}
finish() {
    local rc=$?
    set +e
    [[ -n $lost_node ]] && "$here/slurm-local.sh" restart-node "$lost_node" >/dev/null 2>&1
    if [[ -n ${SLURM_CONF:-} ]]; then
        squeue -h -o '%A %j' 2>/dev/null | awk '$2 ~ /^freqtag-ci-/ {print $1}' | xargs -r scancel
    fi
    ((rc != 0 && failed == 0)) && bad "aborted (exit $rc)"
    if ((failed > 0)) && [[ -n $W ]]; then
        say "kept $W; job logs:"
        tail -n 20 "$W"/logs/* 2>/dev/null
        tail -n 20 "$FREQTAG_SLURM_DIR"/log/slurmctld.log 2>/dev/null
    elif [[ -n $W ]]; then
        rm -rf "$W"
    fi
    ((started_slurm)) && "$here/slurm-local.sh" stop >/dev/null 2>&1
    say "the Slurm test took $(($(date +%s) - t0)) s"
    echo "slurm: $passed passed, $failed failed"
    ((failed == 0)) || exit 1
    exit 0
}
trap finish EXIT

# --- the cluster -------------------------------------------------------------
[[ -s $FREQTAG_SLURM_DIR/run/slurmctld.pid ]] && kill -0 "$(<"$FREQTAG_SLURM_DIR/run/slurmctld.pid")" 2>/dev/null ||
    started_slurm=1
"$here/slurm-local.sh" start
eval "$("$here/slurm-local.sh" env)"
# jobs left by an earlier run of this test
squeue -h -o '%A %j' | awk '$2 ~ /^freqtag-ci-/ {print $1}' | xargs -r scancel
check "slurm is up: sinfo shows 2 idle nodes" test "$(sinfo -h -N -t idle -o %N | wc -l)" -ge 2

W=$(mktemp -d "${TMPDIR:-/tmp}/freqtag-slurm-test.XXXXXX")
mkdir -p "$W/logs"
SW=$W/sweep.toml
cat >"$SW" <<EOF
# 8 points: 2 digits × 2 layouts × 2 depths on the MNIST CNN; with noise every
# frame runs, about 1 s a point on one core (long enough to be killed mid-point)
models = ["$data/models/mnist_cnn.onnx"]
images = ["$data/digits/digits_images.npy:0-1"]
taps   = ["default"]
tables = ["scores", "components", "layers"]

[grid]
parts = ["left-right", "top-bottom"]
freqs = [[6.0, 7.5]]
depth = [0.25, 0.125]
noise = [0.05]

[design]
fs     = 120.0
frames = ${FREQTAG_TEST_FRAMES:-960}
EOF
points=8 shards=4 K=1 # K: the task killed in part 1
check "the plan: $points points, shard $K/$shards holds 2" eval \
    '[[ $("$FREQTAG" sweep "$SW" --out "$W/plan" --shard $K/$shards --dry-run | head -n 1) == "$points grid point(s); shard $K/$shards: 2 point(s),"* ]]'

# what every job of this test gets on top of the scripts' own #SBATCH lines
# (this machine has 2 cores and 2 nodes that each offer both: 1 core a task)
SB=(--parsable --cpus-per-task=1 --mem=1G --output="$W/logs/%x-%A_%a.out" --chdir="$W")
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
gone() { [[ -z $(squeue -h -j "$1" 2>/dev/null) ]]; }                     # job (array) left the queue
is() { [[ $(state "$1") == "$2" ]]; }
restarts() { scontrol show job "$1" | grep -o 'Restarts=[0-9]*' | head -n 1 | cut -d= -f2; }
markers() { find "$1/_done" -name '*.json' 2>/dev/null | wc -l; }
logof() { # the log of job J (all its tasks) or of array task J_K
    if [[ $1 == *_* ]]; then cat "$W"/logs/*-"$1".out; else cat "$W"/logs/*-"$1"_*.out; fi 2>/dev/null
}

# --- the reference: one unsharded local run ----------------------------------
local_ref() {
    local s
    s=$(date +%s%N)
    "$FREQTAG" sweep "$SW" --out "$W/local" --quiet >/dev/null
    say "local reference: $points points in $((($(date +%s%N) - s) / 1000000)) ms ($(nproc) cores, shared with the array)"
}

# same(DIR): DIR holds the same points as the local run, every table file byte
# for byte, nothing missing, nothing extra, no temporary file
same() {
    local dir=$1 f n=0
    diff <(cd "$W/local" && find . -type f ! -path './_slurm/*' | sort) \
        <(cd "$dir" && find . -type f ! -path './_slurm/*' ! -path './_shards/*' | sort) >"$W/diff" ||
        { echo "files differ from the local run:"; head -n 20 "$W/diff"; return 1; }
    while IFS= read -r f; do
        cmp -s "$W/local/$f" "$dir/$f" || { echo "$f differs from the local run"; return 1; }
        n=$((n + 1))
    done < <(cd "$W/local" && find . -name part.parquet)
    ((n == points * 3)) || { echo "$n tables, expected $((points * 3))"; return 1; }
    [[ $(markers "$dir") == "$points" ]] || { echo "$(markers "$dir") markers, expected $points"; return 1; }
    [[ -z $(find "$dir" -name '.*.tmp') ]] || { echo "temporary files left:"; find "$dir" -name '.*.tmp'; return 1; }
}

# --- 1. a task killed mid-point, resubmitted as the merge job says ------------
A=$W/a
say "1. sweep in $shards shards into separate folders, merge chained after the array"
j1=$(FREQTAG_SHARD_DIRS=1 sbatch "${SB[@]}" --job-name=freqtag-ci-sweep --array=0-$((shards - 1)) \
    "$here/slurm-sweep.sbatch" "$SW" "$A")
m1=$(sbatch "${SB[@]}" --job-name=freqtag-ci-merge --dependency=afterany:"$j1" "$here/slurm-merge.sbatch" "$SW" "$A")
local_ref & # the reference runs meanwhile (slower for sharing the cores; correctness only)
ref=$!

# the victim: shard K, killed as soon as its first point is finished (so during its second)
wait_for 90 "shard $K finishes its first point" eval '(($(markers "$A/_shards/$K") >= 1))'
pid=$(pgrep -f -- "--out $A/_shards/$K --shard $K/$shards" | head -n 1 || true)
if [[ -n $pid ]]; then
    kill -9 "$pid"
    ok "SIGKILL to shard $K's freqtag (pid $pid) during its point $(($(markers "$A/_shards/$K") + 1))"
else
    bad "shard $K's freqtag was not running after its first point"
fi
wait_for 30 "task ${j1}_$K fails" is "${j1}_$K" FAILED && ok "task ${j1}_$K FAILED after the kill"
check "shard $K is left unfinished ($(markers "$A/_shards/$K") of 2 points)" test "$(markers "$A/_shards/$K")" -lt 2

# resubmissions that must be refused (the recorded count is 4)
r1=$(sbatch "${SB[@]}" --job-name=freqtag-ci-wrong --array=$shards "$here/slurm-sweep.sbatch" "$SW" "$A")
r2=$(FREQTAG_SHARDS=3 sbatch "${SB[@]}" --job-name=freqtag-ci-wrong --array=$K "$here/slurm-sweep.sbatch" "$SW" "$A")

wait_for 120 "the array and its merge job end" gone "$m1"
check "the merge job fails while shard $K is unfinished" is "$m1" FAILED
fix=$(logof "$m1" | grep -m1 -E '^ *sbatch --array=' | sed 's/^ *//' || true)
check "the merge job prints the command to resubmit shard $K ($fix)" \
    test "$fix" == "sbatch --array=$K scripts/cluster/slurm-sweep.sbatch $SW $A"
wait_for 30 "the wrong resubmissions end" gone "$r2"
check "--array=$shards is refused (outside the 4 recorded shards)" \
    grep -q "task $shards is outside the $shards shards" <(logof "$r1")
check "FREQTAG_SHARDS=3 is refused (4 recorded)" grep -q "FREQTAG_SHARDS=3, but .* $shards shards" <(logof "$r2")

# the recovery: the command the merge job printed, run from the repository
# (with this test's resource and log options added), then the merge again
[[ -n $fix ]] || fix="sbatch --array=$K scripts/cluster/slurm-sweep.sbatch $SW $A"
read -ra cmd <<<"$fix"
j2=$(cd "$here/../.." && "${cmd[0]}" "${SB[@]}" --job-name=freqtag-ci-sweep "${cmd[@]:1}")
m2=$(sbatch "${SB[@]}" --job-name=freqtag-ci-merge --dependency=afterany:"$j2" "$here/slurm-merge.sbatch" "$SW" "$A")
wait_for 90 "the resubmitted task and the merge end" gone "$m2"
check "the resubmitted task ${j2}_$K runs shard $K/$shards and completes" \
    eval 'is "${j2}_$K" COMPLETED && logof "$j2" | grep -q "shard $K/$shards of"'
check "the second merge job completes with all $points points" \
    eval 'is "$m2" COMPLETED && logof "$m2" | grep -q "all $points point(s)"'
wait "$ref"
check "merged tables equal the local run (separate folders, SIGKILL + resubmission)" same "$A"

# --- 2. a node lost mid-run ---------------------------------------------------
B=$W/b
say "2. sweep in $shards shards into one folder; node n2 lost mid-run"
j3=$(sbatch "${SB[@]}" --job-name=freqtag-ci-sweep --array=0-$((shards - 1)) "$here/slurm-sweep.sbatch" "$SW" "$B")
on_n2() { squeue -h -j "$j3" -w n2 -t R -o %K | sort -n | paste -sd' '; }
wait_for 90 "a point finished while tasks run on n2" eval '[[ $(markers "$B") -ge 1 && -n $(on_n2) ]]'
lost=$(on_n2)
ids=$(squeue -h -j "$j3" -w n2 -o %A | paste -sd'|')
# the node dies at once: its slurmd, its job steps (slurmstepd) and every
# process of its jobs are frozen together (SIGSTOP, so none of them can report
# an exit to the controller), then killed (SIGKILL)
lost_node=n2
victims=("$(<"$FREQTAG_SLURM_DIR/run/slurmd-n2.pid")")
for p in /proc/[0-9]*; do
    cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
    if [[ $cmd =~ ^slurmstepd:\ \[($ids)\. ]] ||
        { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx 'SLURMD_NODENAME=n2'; then
        victims+=("${p#/proc/}")
    fi
done
kill -STOP "${victims[@]}" 2>/dev/null || true
kill -KILL "${victims[@]}" 2>/dev/null || true
done_at_loss=$(markers "$B")
ok "node n2 lost (${#victims[@]} processes: slurmd, job steps, jobs) with task(s) $lost on it, $done_at_loss of $points points done"
check "the loss interrupts the sweep ($done_at_loss of $points points done, task(s) '$lost' lost)" \
    eval '[[ -n $lost ]] && ((done_at_loss < points))'
wait_for 60 "Slurm marks n2 DOWN" eval '[[ $(sinfo -h -N -n n2 -o %T) == down* ]]' && ok "Slurm marks n2 DOWN"
for k in $lost; do
    wait_for 60 "task ${j3}_$k is requeued" eval '(($(restarts "${j3}_$k") >= 1))' && ok "task ${j3}_$k requeued"
done
"$here/slurm-local.sh" restart-node n2 && lost_node=""
wait_for 120 "the array ends" gone "$j3"
check "every task of the array completes; the lost one(s) ran again on n1" eval '(
    for k in $(seq 0 $((shards - 1))); do is "${j3}_$k" COMPLETED || exit 1; done
    for k in $lost; do logof "${j3}_$k" | grep -q "on n1 .*restart 1" || exit 1; done)'
wait_for 30 "n2 returns to service" eval '[[ $(sinfo -h -N -n n2 -o %T) =~ ^(idle|mixed|allocated)$ ]]' &&
    ok "n2 back in service"
m3=$(sbatch "${SB[@]}" --job-name=freqtag-ci-merge "$here/slurm-merge.sbatch" "$SW" "$B")
wait_for 30 "the merge job ends" gone "$m3"
check "the merge job finds all $points points" eval 'is "$m3" COMPLETED && logof "$m3" | grep -q "all $points point(s)"'
check "tables equal the local run (shared folder, node lost)" same "$B"
