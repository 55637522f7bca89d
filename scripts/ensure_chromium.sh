#!/bin/sh
# Makes sure Debian's Chromium is there for the browser tests (tests/e2e). Called by
# `make test` before pytest. As root it installs the package when it is missing; otherwise
# it prints how to install it and the e2e tests skip with that reason (under CI=true they
# fail instead). Playwright's own browser download is never used.
set -u
CHROMIUM=${DYAD_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium)…"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update once if the install fails.
    apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
        || echo "apt-get install chromium failed." >&2
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "Chromium not found at $CHROMIUM: the browser tests (tests/e2e) will skip." >&2
    echo "Install it with: sudo apt-get install -y chromium (or set DYAD_CHROMIUM=/path)." >&2
fi
exit 0
