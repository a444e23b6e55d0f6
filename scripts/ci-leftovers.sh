#!/usr/bin/env bash
# Called by .ci/run after the tests: fail if a process the suite started is
# still running (a browser, chromedriver, a `cadre up`, a loopback server).
#
#   scripts/ci-leftovers.sh MARKER
#
# A process counts as the suite's when its environment holds
# CADRE_SUITE_RUN=MARKER (.ci/run passes it to `cargo test`, and every process
# a test starts inherits it), or when its executable was built into this
# checkout's target/. Nothing else on the machine matches, so other users'
# browsers and daemons are never reported or touched. Processes still found
# after a grace period (a killed browser's helpers take a moment to exit) are
# listed, killed by pid, and the script exits 1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MARKER="${1:?usage: $0 MARKER}"
GRACE="${CADRE_LEFTOVER_GRACE:-10}"

suite_pids() {
    local d pid exe
    for d in /proc/[0-9]*; do
        pid="${d#/proc/}"
        [ "$pid" = "$$" ] && continue
        if { tr '\0' '\n' <"$d/environ" | grep -qxF "CADRE_SUITE_RUN=$MARKER"; } 2>/dev/null; then
            echo "$pid"
            continue
        fi
        exe="$(readlink "$d/exe" 2>/dev/null || true)"
        case "$exe" in
        "$ROOT/target/"*) echo "$pid" ;;
        esac
    done
}

deadline=$((SECONDS + GRACE))
while :; do
    left="$(suite_pids)"
    [ -z "$left" ] && { echo "no process of the test suite is left" >&2; exit 0; }
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 1
done

echo "error: processes started by the test suite are still running ${GRACE}s after it ended:" >&2
for pid in $left; do
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160 || true)"
    echo "  pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo gone)): $cmd" >&2
done
for pid in $left; do
    kill -KILL "$pid" 2>/dev/null || true
done
echo "(killed them; the test that started them must end them, panics included)" >&2
exit 1
