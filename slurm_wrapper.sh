#!/usr/bin/env bash
# Runs one configuration of a sweep file with `vat launch` (or `vat compare` when the line names a providers file):
# one Slurm array task per line.
#
#   slurm_wrapper.sh IDX EXPERIMENT [vat launch/compare options...]
#
# IDX        line of the sweep file, counted from 1 (Slurm's --array=1-N gives it as $SLURM_ARRAY_TASK_ID)
# EXPERIMENT name of this sweep: results go to $LOG_DIR/EXPERIMENT/<size>-<fps>-<cpu>-<memory>-<id>/
#            (stream_data.db, vat.log with vat's progress, summary.json)
# Options after EXPERIMENT go to vat as they are (e.g. --duration 8h --stack streaming --local).
#
# Environment:
#   VAT_BIN       the vat executable [default: vat on PATH]
#   SWEEP_FILE    the sweep file, lines "size fps cpu memory id [providers-file]" as `vat generate sweep` writes
#                 them; a providers file (relative: to the sweep file's folder) makes the line a `vat compare` of
#                 those providers [default: slurm_inputs.txt beside this script]
#   LOG_DIR       where experiments' folders go [default: ./logs]
#   VAT_STAGGER_S seconds between starts: task IDX waits VAT_STAGGER_S * (IDX % 10) before it launches, so ten
#                 tasks never ask AWS at the same moment [default: 20]
#
# SIGTERM or SIGINT (scancel, the job's time limit) is passed to vat, which stops its Fargate task before it exits.
set -euo pipefail

die() {
  echo "slurm_wrapper.sh: $*" >&2
  exit 2
}

[ $# -ge 2 ] || die "usage: slurm_wrapper.sh IDX EXPERIMENT [vat launch/compare options...]"
IDX=$1
EXPERIMENT=$2
shift 2
[[ $IDX =~ ^[1-9][0-9]*$ ]] || die "IDX '$IDX' is not a line number: use 1, 2, 3 ... (Slurm's \$SLURM_ARRAY_TASK_ID with --array=1-N)"
[[ $EXPERIMENT =~ ^[A-Za-z0-9._-]+$ ]] || die "experiment name '$EXPERIMENT' is not valid: use letters, digits, '.', '_' or '-'"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SWEEP_FILE=${SWEEP_FILE:-$HERE/slurm_inputs.txt}
[ -r "$SWEEP_FILE" ] || die "sweep file '$SWEEP_FILE' cannot be read: set SWEEP_FILE (make one with: vat generate sweep -o slurm_inputs.txt)"
VAT=${VAT_BIN:-$(command -v vat || true)}
[ -n "$VAT" ] && [ -x "$VAT" ] || die "vat not found: put it on PATH or set VAT_BIN to the executable"

LINES=$(grep -c . "$SWEEP_FILE" || true)
LINE=$(sed -n "${IDX}p" "$SWEEP_FILE")
[ -n "$LINE" ] || die "line $IDX of '$SWEEP_FILE' is empty or missing: it has $LINES configurations (1-$LINES)"
read -r SIZE FPS CPU MEMORY ID PROVIDERS REST <<<"$LINE"
[ -n "${ID:-}" ] && [ -z "${REST:-}" ] || die "line $IDX of '$SWEEP_FILE' is '$LINE': expected five or six fields, size fps cpu memory id [providers-file]"
COMMAND=launch
if [ -n "${PROVIDERS:-}" ]; then
  COMMAND=compare
  case $PROVIDERS in /*) ;; *) PROVIDERS=$(dirname "$SWEEP_FILE")/$PROVIDERS ;; esac
  [ -r "$PROVIDERS" ] || die "line $IDX of '$SWEEP_FILE' names the providers file '$PROVIDERS', which cannot be read"
fi

RUN_DIR=${LOG_DIR:-./logs}/$EXPERIMENT/$SIZE-$FPS-$CPU-$MEMORY-$ID
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
echo "slurm_wrapper.sh: line $IDX of $SWEEP_FILE: size $SIZE, fps $FPS, cpu $CPU, memory $MEMORY, id $ID${PROVIDERS:+, providers $PROVIDERS} -> $RUN_DIR"

child=""
stop_requested=""
forward() {
  stop_requested=$1
  if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null || true; fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT

STAGGER=$(( ${VAT_STAGGER_S:-20} * (IDX % 10) ))
if [ "$STAGGER" -gt 0 ]; then
  echo "slurm_wrapper.sh: waiting $STAGGER s before launching (staggered starts)"
  sleep "$STAGGER" &
  child=$!
  wait "$child" || true
  child=""
fi
if [ -n "$stop_requested" ]; then
  echo "slurm_wrapper.sh: stopped by SIG$stop_requested before launching; nothing was started" >&2
  exit 143
fi

# vat runs in the background so this shell can pass signals on while it waits (bash runs traps only between commands).
# A compare takes the providers file first; both take the same configuration options.
"$VAT" "$COMMAND" ${PROVIDERS:+"$PROVIDERS"} --id "$ID" --image-size "$SIZE" --fps "$FPS" --cpu "$CPU" --memory "$MEMORY" \
  --db "$RUN_DIR/stream_data.db" --json "$@" >"$RUN_DIR/summary.json" 2>>"$RUN_DIR/vat.log" &
child=$!
echo "slurm_wrapper.sh: vat $COMMAND running (pid $child), its log: $RUN_DIR/vat.log"
# wait returns early when a trap ran: keep waiting while vat stops its task, then take vat's own exit status.
while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
status=0
wait "$child" || status=$?
echo "slurm_wrapper.sh: vat $COMMAND exited with $status (results in $RUN_DIR)"
exit "$status"
