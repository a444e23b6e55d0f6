#!/usr/bin/env bash
# Called by .ci/run: install (or reuse) the llama.cpp server, start it on
# loopback with the tiny model, and run the end-to-end test against it with
# CI=true (so the test fails instead of skipping if anything is missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${CADRE_LLAMA_PORT:-8765}"
scripts/llm-server.sh install
URL="$(scripts/llm-server.sh start "$PORT")"
trap 'scripts/llm-server.sh stop' EXIT
CI=true CADRE_LLAMA_URL="$URL" cargo test --test e2e_llama -- --nocapture
