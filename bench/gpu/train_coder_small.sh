#!/usr/bin/env bash
# Train coder-small on one GPU in under 9.5 minutes, everything included; see bench/gpu/README.md.
#   OUT=/folder/to/return bash bench/gpu/train_coder_small.sh             (the GPU run, ~9 minutes)
#   MERCURY_GPU_DRY_RUN=1 OUT=/tmp/x bash bench/gpu/train_coder_small.sh  (tiny, on a CPU, ~15 s)
# Run from anywhere: it works in the repository root. $OUT receives at most 8 files, each < 16 MiB.
set -u -o pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder that comes back}"
WORK=${MERCURY_GPU_WORK:-/tmp/coder-small-work}  # corpus, checkpoints, logs: emptied first
if [ "${MERCURY_GPU_DRY_RUN:-0}" = 1 ]; then BUDGET=${MERCURY_GPU_BUDGET_S:-120}; else BUDGET=${MERCURY_GPU_BUDGET_S:-540}; fi
# The project's venv where there is one (here); the GPU machine's python3 holds torch.
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
export PYTHONUNBUFFERED=1 MERCURY_GPU_T0=$(date +%s)
rm -rf "$WORK" && mkdir -p "$WORK" "$OUT"

# The driver watches its own budget; the hard limit only catches a phase that overruns it.
timeout -k 5 $((${BUDGET%.*} + 15)) "$PY" -m bench.gpu.coder_small run \
  --work "$WORK" --out "$OUT" --budget-s "$BUDGET" "$@" 2>&1 | tee "$WORK/run.log"
rc=$?
# Exports the last checkpoint when the run stopped before exporting; a no-op otherwise.
"$PY" -m bench.gpu.coder_small export --work "$WORK" --out "$OUT" --exit-code "$rc" 2>&1 | tee -a "$WORK/run.log"

# Logs, the training log and the corpus manifest (every package and its license) in one file.
(cd "$WORK" && tar -czf "$OUT/logs.tar.gz" run.log $(ls model/log.jsonl corpus/manifest.json 2>/dev/null))
echo "== returned files (at most 8, each < 16 MiB)"
find "$OUT" -type f -printf '%9s %P\n' | sort -k2
exit "$rc"
