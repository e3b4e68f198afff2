#!/usr/bin/env bash
# Installs Debian's headless Chromium for the browser tests when it is missing (needs root and apt).
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1
fi
command -v chromium >/dev/null 2>&1
