#!/usr/bin/env bash
# Semantic domain routes end to end with a real local embedding model: a request that is one of a
# domain's example utterances goes to that domain's target (even under a strict min_similarity), an
# unrelated one to the default under the strict threshold and to the nearest domain without one (the
# nearest computed by the test from /v1/embeddings); headers and ledger rows name route and provider
# (tests/e2e/route/semantic.js).
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
exec node "$(dirname "$0")/route/semantic.js"
