#!/usr/bin/env bash
# Installs what building and testing kinglet needs on Debian 12: compilers and libraries from
# Debian's archive (apt-get), and the Node packages the tests use as references (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev libyaml-cpp-dev
  libcpp-httplib-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev
  curl
  chromium
  # The ledger tests start a throwaway PostgreSQL server (initdb, pg_ctl) and cross-check sums with sqlite3.
  postgresql sqlite3
)
# Node.js and npm run the reference tools (Hugging Face tokenizers, @huggingface/jinja, the openai
# client). Use the machine's if it has them (they may come from outside Debian's archive).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
