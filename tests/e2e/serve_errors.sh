#!/usr/bin/env bash
# kinglet serve's failure paths: error objects and statuses, API keys, overload (429), client
# disconnects, bad configuration (see tests/e2e/serve/errors.js).
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
exec node "$(dirname "$0")/serve/errors.js"
