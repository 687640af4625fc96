#!/usr/bin/env bash
# Make sure the browser tests can run: Debian's Chromium and the npm
# packages of e2e/ (pinned in e2e/package-lock.json). Installs what is
# missing when it can; otherwise says in one sentence what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-browser: installing Debian's chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "ensure-browser: Chromium is missing: install it with 'sudo apt-get install chromium' (or set CHROMIUM to its path)." >&2
    exit 1
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-browser: npm is missing: install Node.js 20 or later with npm (apt-get install nodejs npm)." >&2
  exit 1
fi

# Reinstall only when the lock file changed since the last install.
stamp=e2e/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ e2e/package-lock.json -nt "$stamp" ]; then
  echo "ensure-browser: installing e2e npm packages" >&2
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
