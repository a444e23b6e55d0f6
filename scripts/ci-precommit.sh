#!/usr/bin/env bash
# Called by .ci/run: install pre-commit into the shared venv .venv-llm (see
# scripts/venv.sh) for tests/review/precommit.rs, which runs `pre-commit try-repo`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
ensure_venv
if "$VENV/bin/pre-commit" --version >/dev/null 2>&1; then
    echo "reusing $("$VENV/bin/pre-commit" --version)" >&2
else
    "$VENV/bin/pip" install --quiet pre-commit
fi
"$VENV/bin/pre-commit" --version
