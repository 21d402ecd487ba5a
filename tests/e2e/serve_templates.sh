#!/usr/bin/env bash
# Chat prompts through kinglet serve equal Hugging Face's rendering and tokenization on models with
# real vocabularies and templates (see tests/e2e/serve/templates.js).
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SOURCE_DIR:?path of the source tree}"
exec node "$(dirname "$0")/serve/templates.js"
