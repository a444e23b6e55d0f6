#!/usr/bin/env bash
# Called by .ci/run: install pre-commit into the venv .venv-llm (the one
# scripts/llm-server.sh makes; created here the same way when missing) for
# tests/review/precommit.rs, which runs `pre-commit try-repo` against the repo.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-llm"
VENV_HOME="${CADRE_VENV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cadre/venv-llm}"
if [ ! -e "$VENV" ]; then
    mkdir -p "$(dirname "$VENV_HOME")"
    [ -x "$VENV_HOME/bin/python" ] || python3 -m venv "$VENV_HOME"
    ln -sfn "$VENV_HOME" "$VENV"
fi
if "$VENV/bin/pre-commit" --version >/dev/null 2>&1; then
    echo "reusing $("$VENV/bin/pre-commit" --version)" >&2
else
    "$VENV/bin/pip" install --quiet pre-commit
fi
"$VENV/bin/pre-commit" --version
