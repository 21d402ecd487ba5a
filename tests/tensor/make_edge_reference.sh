#!/usr/bin/env bash
# Regenerates data/llamacpp_edge_hashes.json (development time only; the tests just read the JSON).
# Needs a build of test_tensor and llama.cpp's quantizer (../shared/peers/llama.cpp/llref).
#   bash tests/tensor/make_edge_reference.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${1:-build}"
LLREF="${LLREF:-../shared/peers/llama.cpp/llref}"
TEST_BIN="$BUILD_DIR/tests/test_tensor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

KINGLET_EDGE_OUT="$WORK/edge-f32.gguf" "$TEST_BIN" --gtest_also_run_disabled_tests \
  --gtest_filter='LlamaCppEdgeRows.DISABLED_WriteEdgeModel' >/dev/null

TYPES=(q4_0 q4_1 q5_0 q5_1 q8_0 q4_k_m q5_k_m q6_k f16 bf16)
{
  echo '{"generator": "tests/tensor/make_edge_reference.sh: llref quantize (llama.cpp ec98e2002) of the edge-row model", "files": {'
  sep=""
  for t in "${TYPES[@]}"; do
    "$LLREF" quantize "$WORK/edge-f32.gguf" "$WORK/edge-$t.gguf" "$t" >/dev/null 2>&1
    h=$(KINGLET_EDGE_HASH="$WORK/edge-$t.gguf" "$TEST_BIN" --gtest_also_run_disabled_tests \
        --gtest_filter='LlamaCppEdgeRows.DISABLED_HashTensors' | sed -n 's/^EDGE_HASHES //p')
    printf '%s"%s": %s\n' "$sep" "$t" "$h"
    sep=","
  done
  echo '}}'
} | python3 -m json.tool --indent 1 > tests/tensor/data/llamacpp_edge_hashes.json
echo "wrote tests/tensor/data/llamacpp_edge_hashes.json"
