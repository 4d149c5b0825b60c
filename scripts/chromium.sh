#!/usr/bin/env bash
# Makes sure headless Chromium from Debian's package is installed for the browser tests of the web UI
# (they drive it with playwright-core; no browser is downloaded from anywhere else).
#
#   bash scripts/chromium.sh   # installs the `chromium` package when /usr/bin/chromium is missing
#
# Exits non-zero when Chromium cannot be installed: the browser tests then fail instead of skipping.
set -euo pipefail

CHROMIUM=${WEIR_TEST_CHROMIUM:-/usr/bin/chromium}
log() { echo "chromium: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ -x "$CHROMIUM" ]; then exit 0; fi
log "$CHROMIUM is missing: apt-get install chromium"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
[ -x "$CHROMIUM" ] || { log "$CHROMIUM is still missing after apt-get install chromium"; exit 1; }
log "installed: $("$CHROMIUM" --version 2>/dev/null || echo unknown version)"
