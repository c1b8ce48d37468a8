#!/usr/bin/env bash
# Installs what the tests need outside Python, if absent: redis-server (Debian), Node.js and, with npm, the Cosmos DB
# emulator, Azurite and the Node openai SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

if [ ! -d tests/cosmos_emulator/node_modules ]; then
  echo "installing the Cosmos DB emulator"
  (cd tests/cosmos_emulator && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -d tests/azurite/node_modules ]; then
  echo "installing Azurite (Azure Storage emulator)"
  (cd tests/azurite && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -d tests/node/node_modules ]; then
  echo "installing the Node openai SDK (tests/e2e/test_node_sdk.py)"
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
