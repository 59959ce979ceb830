#!/usr/bin/env bash
# Installs the Debian packages the tests need: chromium and the CJK fonts for the browser test (never
# `playwright install`), and strace for the test that no connection leaves loopback.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" && command -v strace >/dev/null; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk strace >/dev/null
