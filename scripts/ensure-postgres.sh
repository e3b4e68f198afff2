#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the store tests when it is missing (needs root and apt).
# The tests start their own throw-away cluster (initdb in a temp dir); nothing is enabled here.
set -u
found() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
found && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) >/dev/null 2>&1
fi
found
