#!/usr/bin/env bash
# The whole test suite from a clean checkout: install dependencies, build, run every test with CTest.
# The last line is CTest's summary (repeated after CTest's list of skipped tests, if any).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
cd "${KINGLET_BUILD_DIR:-build}"
set +e
ctest --output-on-failure --parallel "$(nproc)" --timeout 1800 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
set -e
grep -E "tests passed|tests failed" ctest.log | tail -n 1
exit "$status"
