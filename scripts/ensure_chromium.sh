#!/bin/sh
# Makes sure Debian's Chromium is there for the browser tests (tests/e2e). Called by
# `make test` before pytest. As root it installs the package when it is missing. If it is
# still missing the script fails, showing apt's error, so the browser tests never vanish
# quietly; DYAD_SKIP_BROWSER_TESTS=1 opts out (the e2e tests then skip, saying so).
# Playwright's own browser download is never used.
set -u
CHROMIUM=${DYAD_CHROMIUM:-/usr/bin/chromium}
command -v "$CHROMIUM" >/dev/null 2>&1 && exit 0
if [ "${DYAD_SKIP_BROWSER_TESTS:-}" = "1" ]; then
    echo "DYAD_SKIP_BROWSER_TESTS=1: no Chromium at $CHROMIUM; the browser tests will skip." >&2
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium)…"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: on failure, update once and retry,
    # this time with apt's errors on the terminal.
    apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    echo "ERROR: no Chromium at $CHROMIUM, so the browser tests (tests/e2e) cannot run." >&2
    echo "Install it: sudo apt-get install -y chromium (or set DYAD_CHROMIUM=/path/to/chromium)," >&2
    echo "or skip them explicitly: DYAD_SKIP_BROWSER_TESTS=1 make test" >&2
    exit 1
fi
