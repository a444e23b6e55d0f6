# Sourced by the scripts that install Python tools for the tests (llm-server.sh,
# ci-precommit.sh, ci-kubernetes.sh): one shared venv, kept outside the checkout so
# a fresh clone (CI) reuses what an earlier run on the same machine installed;
# .venv-llm at the repo root is a link to it. Sets ROOT, VENV, VENV_HOME, CACHE.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cadre"
VENV="$ROOT/.venv-llm"
VENV_HOME="${CADRE_VENV_HOME:-$CACHE/venv-llm}"

# Create the venv (or only the link to an existing one) when missing.
ensure_venv() {
    if [ ! -e "$VENV" ]; then
        mkdir -p "$(dirname "$VENV_HOME")"
        [ -x "$VENV_HOME/bin/python" ] || python3 -m venv "$VENV_HOME"
        ln -sfn "$VENV_HOME" "$VENV"
    fi
}
