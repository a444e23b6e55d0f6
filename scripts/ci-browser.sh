#!/bin/sh
# Install headless Chromium and its WebDriver for the browser tests (tests/http/browser.rs).
set -eu
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
apt-get update
apt-get install -y chromium chromium-driver
