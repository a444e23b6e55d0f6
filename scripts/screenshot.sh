#!/bin/sh
# Regenerate docs/team-page.png (the team page of the shipped team after a
# Team Chat round) and docs/chat-page.png (a specialist's page with a Markdown
# answer), taken by the browser tests in headless Chromium.
set -eu
cd "$(dirname "$0")/.."
CADRE_SCREENSHOT="$PWD/docs/team-page.png" CADRE_SCREENSHOT_CHAT="$PWD/docs/chat-page.png" \
    cargo test --test http -- browser::team_page pages::an_answer_with_a_code_block --nocapture
echo "wrote docs/team-page.png and docs/chat-page.png"
