#!/usr/bin/env bash
# Configures and builds kinglet (Release, warnings as errors) into build/ (or $KINGLET_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${KINGLET_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKINGLET_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
