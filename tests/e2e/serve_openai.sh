#!/usr/bin/env bash
# kinglet serve through the official openai npm client and curl: chat, completions, streaming,
# logprobs, embeddings, tokenize, prefix cache, graceful shutdown (see tests/e2e/serve/openai.js).
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
exec node "$(dirname "$0")/serve/openai.js"
