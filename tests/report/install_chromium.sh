#!/usr/bin/env bash
# Installs Debian's headless browser for the report's browser test.
#
# The test drives /usr/bin/chromium through /usr/bin/chromedriver. Both come from
# Debian's registry (packages `chromium` and `chromium-driver`), never from a download
# of a browser build, so CI and a developer's machine get the same, signed binaries.
# Safe to run repeatedly: it does nothing when both are already there. Needs root
# (or sudo); without either it explains and exits 0 so the test can skip with a reason.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "chromium and chromedriver already installed"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install_chromium.sh: not root and no password-less sudo; run as root:" >&2
    echo "  apt-get update && apt-get install -y chromium chromium-driver" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: apt-get not found; install chromium and chromedriver by hand" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
