#!/usr/bin/env bash
# Example: one sweep as a Slurm job array, every array task a shard, all
# writing into one s3:// lake.
#
#   sbatch docs/slurm-sweep.sh
#
# SLURM_ARRAY_TASK_ID runs over --array (1-8 here: it counts from 1, like
# --shard) and SLURM_ARRAY_TASK_COUNT is the number of tasks, so the shard
# is "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT". (With --array=0-7 use
# $((SLURM_ARRAY_TASK_ID + 1)).) Runs already published are skipped, so a
# failed task is rerun with `sbatch --array=5 docs/slurm-sweep.sh`, and the
# whole sweep resumed by resubmitting the script.
#
# Credentials: the standard AWS environment or ~/.aws/config and
# credentials (AWS_PROFILE); for MinIO/Ceph/R2 set AWS_ENDPOINT_URL.
#SBATCH --job-name=crash-sweep
#SBATCH --array=1-8
#SBATCH --cpus-per-task=2
#SBATCH --mem=6G
#SBATCH --time=04:00:00
#SBATCH --output=logs/crash-sweep-%A_%a.out
set -euo pipefail

LAKE=${LAKE:-s3://risk-lake/sweeps/crash-2026-12}
# Runs are built in node-local scratch before they are uploaded.
export TMPDIR=${SLURM_TMPDIR:-${TMPDIR:-/tmp}}

backtest sweep scenarios/spy_crash.yaml \
  --grid risk.trailing_stop.trail_pct=10,15,20,25,30,35,40,45 \
  --grid risk.circuit_breaker.failure_threshold=3,5,8 \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --workers "${SLURM_CPUS_PER_TASK:-1}" --quiet \
  --out "$LAKE"

# After the array (e.g. sbatch --dependency=afterany:$JOBID):
#   backtest sweep scenarios/spy_crash.yaml --grid … --status --out "$LAKE"
#   backtest query --out "$LAKE" "SELECT run_id, pnl, max_drawdown_pct FROM runs ORDER BY pnl DESC"
