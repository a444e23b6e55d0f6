#!/usr/bin/env bash
# Called by .ci/run: install kubernetes-validate (offline Kubernetes schemas) into the
# shared venv .venv-llm (see scripts/venv.sh) for tests/config/kubernetes.rs, which
# validates what deploy/kubernetes/render.py renders.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
ensure_venv
if "$VENV/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    echo "reusing kubernetes-validate $("$VENV/bin/kubernetes-validate" --version 2>&1 | tail -n 1)" >&2
else
    "$VENV/bin/pip" install --quiet 'kubernetes-validate>=1.37'
fi
