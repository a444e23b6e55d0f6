#!/usr/bin/env bash
# Called by .ci/run: run a command with net.ipv4.ip_local_reserved_ports empty,
# then put back what was reserved (also when the command fails or the script
# is interrupted). A host that reserves the pinned ports would otherwise hide a
# regression of the suite on a new user's machine, where nothing is reserved.
#
#   scripts/ci-unreserved.sh COMMAND [ARG...]
#
# Clearing needs root; when something is reserved and it cannot be cleared,
# the step fails rather than silently testing the reserved case.
set -euo pipefail
FILE=/proc/sys/net/ipv4/ip_local_reserved_ports
reserved="$(cat "$FILE")"
restore() {
    [ -z "$reserved" ] || sysctl -qw net.ipv4.ip_local_reserved_ports="$reserved"
    if [ "$(cat "$FILE")" != "$reserved" ]; then
        echo "error: net.ipv4.ip_local_reserved_ports is '$(cat "$FILE")', not the '$reserved' it was" >&2
        return 1
    fi
}
if [ -n "$reserved" ]; then
    echo "clearing net.ipv4.ip_local_reserved_ports ($reserved) for: $*" >&2
    trap 'restore' EXIT
    trap 'exit 130' INT TERM
    sysctl -qw net.ipv4.ip_local_reserved_ports= || {
        echo "error: cannot clear net.ipv4.ip_local_reserved_ports (not root?)" >&2
        exit 1
    }
fi
if [ -n "$(cat "$FILE")" ]; then
    echo "error: net.ipv4.ip_local_reserved_ports is still '$(cat "$FILE")'" >&2
    exit 1
fi
status=0
"$@" || status=$?
trap - EXIT
restore || status=1
exit "$status"
