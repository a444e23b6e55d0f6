#!/bin/sh
# Install etcd (server and etcdctl) for the etcd registry tests
# (tests/registry/etcd/: a 3-member cluster on loopback started by the tests), and
# openssl, which makes the certificates of the TLS test. Debian packages
# `etcd-server`, `etcd-client` and `openssl`; run as root on a fresh machine.
set -eu
if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 \
    && command -v openssl >/dev/null 2>&1; then
    echo "reusing $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1)) and $(openssl version)" >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ci-etcd.sh: etcd, etcdctl or openssl is missing; run as root (apt-get install etcd-server etcd-client openssl)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Nothing but the binaries is needed: the tests start their own members on free ports.
apt-get install -y --no-install-recommends etcd-server etcd-client openssl
# Debian's package enables a system service; on a machine with systemd running it
# would hold 127.0.0.1:2379. The tests use free ports, but keep the machine quiet.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
fi
etcd --version | head -n 1
