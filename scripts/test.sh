#!/usr/bin/env bash
# The whole test suite from a clean checkout: install dependencies, build, run every test with CTest.
# The last lines are CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
cd "${KINGLET_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" --timeout 1800
