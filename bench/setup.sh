#!/usr/bin/env bash
# Tools the ingest benchmark compares against: tshark (Wireshark) and, where Debian ships it,
# nDPI's ndpiReader (package libndpi-bin). Debian/Ubuntu only; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; answer "no" without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq tshark
for pkg in libndpi-bin ndpi-bin; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then
        $SUDO apt-get install -y -qq "$pkg"
        break
    fi
done
command -v tshark
command -v ndpiReader || echo "ndpiReader not available from apt; the benchmark will skip it"
