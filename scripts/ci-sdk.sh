#!/usr/bin/env bash
# Called by .ci/run: install the official A2A and MCP Python SDKs into the venv
# .venv-llm (the one scripts/llm-server.sh makes; created here the same way when
# missing) for tests/http/sdk.rs, which runs tests/sdk/*.py against `cadre up`.
# The versions are the ones the tests were written and checked against.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-llm"
VENV_HOME="${CADRE_VENV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cadre/venv-llm}"
A2A_SDK="a2a-sdk==1.3.0"
MCP_SDK="mcp==2.3.0"
if [ ! -e "$VENV" ]; then
    mkdir -p "$(dirname "$VENV_HOME")"
    [ -x "$VENV_HOME/bin/python" ] || python3 -m venv "$VENV_HOME"
    ln -sfn "$VENV_HOME" "$VENV"
fi
have() { "$VENV/bin/pip" show "${1%%==*}" 2>/dev/null | grep -qx "Version: ${1##*==}"; }
if have "$A2A_SDK" && have "$MCP_SDK"; then
    echo "reusing $A2A_SDK and $MCP_SDK" >&2
else
    "$VENV/bin/pip" install --quiet "$A2A_SDK" "$MCP_SDK" httpx
fi
"$VENV/bin/python" -c 'import a2a, mcp; print("a2a-sdk and mcp importable")'
