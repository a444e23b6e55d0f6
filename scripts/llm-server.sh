#!/usr/bin/env bash
# A real OpenAI-compatible model server for end-to-end tests: llama.cpp's
# server (llama-cpp-python) serving a tiny model that always answers
# "Hello, world!".
#
#   scripts/llm-server.sh install          # venv .venv-llm at the repo root (~4 min once; reused)
#   scripts/llm-server.sh model            # writes target/tiny.gguf
#   scripts/llm-server.sh start [PORT]     # starts on 127.0.0.1:PORT (default 8765), waits until ready,
#                                          # prints the base url; pid in target/llm-server.pid
#   scripts/llm-server.sh stop
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The venv lives outside the checkout so a fresh clone (CI) reuses a build made
# earlier on the same machine; .venv-llm in the repo root is a link to it.
VENV="$ROOT/.venv-llm"
VENV_HOME="${CADRE_VENV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cadre/venv-llm}"
MODEL="$ROOT/target/tiny.gguf"
PIDFILE="$ROOT/target/llm-server.pid"
LOG="$ROOT/target/llm-server.log"

install() {
    if "$VENV/bin/python" -c 'import llama_cpp.server, gguf, numpy' 2>/dev/null; then
        echo "reusing $VENV" >&2
        return
    fi
    if [ ! -e "$VENV" ]; then
        mkdir -p "$(dirname "$VENV_HOME")"
        [ -x "$VENV_HOME/bin/python" ] || python3 -m venv "$VENV_HOME"
        ln -sfn "$VENV_HOME" "$VENV"
        if "$VENV/bin/python" -c 'import llama_cpp.server, gguf, numpy' 2>/dev/null; then
            echo "reusing $VENV_HOME" >&2
            return
        fi
    fi
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$VENV/bin/pip" install --quiet 'llama-cpp-python[server]' gguf numpy
}

model() {
    mkdir -p "$(dirname "$MODEL")"
    [ -s "$MODEL" ] || "$VENV/bin/python" "$ROOT/tools/make_tiny_model.py" - "$MODEL" >&2
}

start() {
    local port="${1:-8765}"
    install
    model
    "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --model_alias tiny \
        --host 127.0.0.1 --port "$port" --n_ctx 2048 >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 300); do
        if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
            echo "http://127.0.0.1:$port/v1"
            return
        fi
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
        sleep 0.2
    done
    echo "llama server did not become ready; log: $LOG" >&2
    exit 1
}

stop() {
    [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null || true
    rm -f "$PIDFILE"
}

case "${1:-}" in
    install) install ;;
    model) install; model ;;
    start) shift; start "$@" ;;
    stop) stop ;;
    *) echo "usage: $0 install|model|start [PORT]|stop" >&2; exit 2 ;;
esac
