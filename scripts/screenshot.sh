#!/bin/sh
# Regenerate docs/team-page.png: the team page of the shipped team after a
# Team Chat round, taken by the browser test in headless Chromium.
set -eu
cd "$(dirname "$0")/.."
CADRE_SCREENSHOT="$PWD/docs/team-page.png" cargo test --test http browser::team_page -- --nocapture
echo "wrote docs/team-page.png"
