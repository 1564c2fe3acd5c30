#!/usr/bin/env bash
# Every measurement in BENCHMARKS.md, in two streams (this machine has two cores; each job uses one
# thread). Raw results land in docs/bench/*.json, tables in the logs beside them, plots in docs/.
# Needs the held-out corpus (`mercury corpus`; `mercury corpus --languages python go rust --debian
# --out /work/data/corpus-multi` for Go and Rust) and the evaluation data (../shared/eval-data).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/bench
mkdir -p "$out"
py=.venv/bin/python
mercury=.venv/bin/mercury
diffusion=${DIFFUSION:-coder-mini}
baseline=${BASELINE:-coder-mini-ar}
limit=${LIMIT:-80}
.venv/bin/mercury export "$diffusion" && .venv/bin/mercury export "$baseline"  # int8 graphs for section 7

quality() {  # coder-mini beside the AR baseline, no syntax constraint on either
  $mercury eval --model "$diffusion" --unconstrained --limit "$limit" --threads 1 \
    --out $out/eval_diffusion.json >$out/eval_diffusion.log 2>&1
  $mercury eval --model "$baseline" --unconstrained --limit "$limit" --threads 1 \
    --out $out/eval_ar.json >$out/eval_ar.log 2>&1
  $mercury eval --model "$diffusion" --unconstrained --tau 0.5 0.7 0.8 0.9 1.0 --limit "$limit" --threads 1 \
    --sets heldout-single-line heldout-multi-line --out $out/tau.json >$out/tau.log 2>&1
  $mercury eval --model "$diffusion" --unconstrained --tau 0.1 0.2 0.3 --limit "$limit" --threads 1 \
    --sets heldout-single-line heldout-multi-line --out $out/tau_low.json >$out/tau_low.log 2>&1
  # every held-out single-line task (500): exact match at a size where one task is 0.2 points
  $mercury eval --model "$diffusion" --unconstrained --tau 0.1 0.3 0.5 0.9 --threads 1 \
    --sets heldout-single-line --out $out/single_line_all.json >$out/single_line_all.log 2>&1
  $mercury eval --model "$baseline" --unconstrained --threads 1 \
    --sets heldout-single-line --out $out/single_line_all_ar.json >$out/single_line_all_ar.log 2>&1
  $py bench/constraints.py --model "$diffusion" --limit $((limit / 2)) --threads 1 --out $out/constraints.json \
    >$out/constraints.log 2>&1
  $py bench/server_answers.py --model "$diffusion" --sets heldout-single-line heldout-multi-line humaneval-x-line \
    heldout-go-single-line heldout-rust-single-line humaneval-x-line-js --limit 500 --threads 1 \
    --out $out/server_answers.json >$out/server_answers.log 2>&1
  # the line Enter opens where a block's closer belongs; other languages go to the routed model
  $py bench/closers_after_enter.py --model "$diffusion" --sets heldout-python --limit 0 --threads 1 \
    --out $out/closers_after_enter_python.json >$out/closers_after_enter_python.log 2>&1
  $py bench/closers_after_enter.py --model coder-mini-multi --corpus /work/data/corpus-multi --sets heldout-go \
    heldout-rust humaneval-x-line-js humaneval-x-line-java humaneval-x-line-cpp humaneval-x-line-go \
    humaneval-x-line-rust --limit 200 --threads 1 \
    --out $out/closers_after_enter_routed.json >$out/closers_after_enter_routed.log 2>&1
  for model in "$diffusion" "$baseline"; do  # does what the server shows add a syntax error?
    $py bench/shown_syntax.py --model "$model" --cursors 600 --threads 1 \
      --out $out/shown_syntax_$model.json >$out/shown_syntax_$model.log 2>&1
  done
}

speed() {
  $py bench/lsp_latency.py --model "$diffusion" --model "$baseline" --tasks 40 --threads 1 \
    --out $out/lsp_latency.json >$out/lsp_latency.log 2>&1
  $py bench/lsp_latency.py --model "$diffusion" --tasks 40 --threads 1 --unconstrained \
    --out $out/lsp_latency_unconstrained.json >$out/lsp_latency_unconstrained.log 2>&1
  $py bench/lsp_latency.py --model "$diffusion" --model "$baseline" --tasks 40 --warm-tasks 40 --threads 1 \
    --out $out/lsp_latency_warm40.json >$out/lsp_latency_warm40.log 2>&1
  $py bench/engine_speed.py step --model "$diffusion" --model "$baseline" --threads 1 \
    --out $out/step.json >$out/step.log 2>&1
  $py bench/engine_speed.py context --model "$diffusion" --model "$baseline" --backend torch onnx onnx-int8 \
    --repeats 3 --threads 1 --out $out/context.json --plot docs/context_latency.png >$out/context.log 2>&1
  $py bench/engine_speed.py span --model "$diffusion" --model "$baseline" --tasks 20 --threads 1 \
    --out $out/span.json --plot docs/span_latency.png >$out/span.log 2>&1
  $py bench/engine_speed.py memory --model "$diffusion" --tasks "$limit" --threads 1 \
    --out $out/memory.json >$out/memory.log 2>&1
  $py bench/engine_speed.py routed --model "$diffusion" --language go --repeats 5 --tasks 20 --threads 1 \
    --out $out/routed.json >$out/routed.log 2>&1
  $py bench/debounce.py --model "$diffusion" --lines 12 --out $out/debounce.json >$out/debounce.log 2>&1
  $py bench/prefetch.py --model "$diffusion" --tasks 40 --runs 4 --threads 1 \
    --out $out/prefetch.json >$out/prefetch.log 2>&1
  $py bench/prefetch.py --model "$baseline" --tasks 40 --runs 2 --threads 1 \
    --out $out/prefetch_ar.json >$out/prefetch_ar.log 2>&1
  $py bench/load.py --model "$diffusion" --editors 8 --rate 10 --seconds 60 --threads 1 \
    --out $out/load.json >$out/load.log 2>&1
}

larger() {  # coder-small on this CPU (sections 1, 3 and 6); its GPU figures need the device (bench/gpu/)
  $mercury export coder-small --no-int8
  $mercury eval --model coder-small --unconstrained --limit "$limit" --threads 1 \
    --out $out/eval_small.json >$out/eval_small.log 2>&1
  $py bench/constraints.py --model coder-small --limit $((limit / 2)) --threads 1 \
    --out $out/constraints_small.json >$out/constraints_small.log 2>&1
  $py bench/engine_speed.py step --model coder-small --backend torch onnx --threads 1 \
    --out $out/step_small.json >$out/step_small.log 2>&1
}

quality &
speed &
wait
if [ "${SMALL:-1}" = 1 ]; then larger; fi  # about 30 minutes more; SMALL=0 skips it
$py bench/training_curve.py docs/train/coder-mini-scratch.log.jsonl docs/train/coder-mini.log.jsonl \
  docs/train/coder-mini-ar.log.jsonl --out docs/training_curve.png
echo "done: $out"
