#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test of the search page
# (cmd/rosetta/e2e_browser_test.go) when it is missing, and prints its path.
# The test drives it headless over the DevTools protocol (chromedp), so no
# chromium-driver is needed.
set -euo pipefail
if ! [ -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1; apt-get install -y chromium >/dev/null; }
fi
echo /usr/bin/chromium
