#!/usr/bin/env bash
# Installs what Carte needs from Debian's packages and checks the Swift toolchain.
# Idempotent: on a developer machine it installs only what is missing; under CI (CI=true) it always runs
# `apt-get update` then `apt-get install -y` for the whole list.
set -euo pipefail

PACKAGES=(
  libpcsclite-dev libssl-dev libusb-1.0-0-dev   # system libraries (pkg-config: libpcsclite, openssl, libusb-1.0)
  pcscd vsmartcard-vpcd                         # the real PC/SC daemon and the vpcd driver our simulator plugs into
  pcsc-tools opensc                             # pcsc_scan, smartcard_list.txt, opensc-tool, pkcs15-tool, pkcs11-tool
  python3-pyscard                               # peer figures for `carte bench`
  pkg-config procps psmisc netcat-openbsd openssl iproute2 util-linux curl
  chromium fonts-dejavu-core                   # the kiosk page screenshot test
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${CI:-}" = "true" ] || [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]:-${PACKAGES[*]}}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    echo "setup: Swift 6.1 or later is required (https://www.swift.org/install/)" >&2
    exit 1
  fi
fi
echo "setup: $(swift --version 2>/dev/null | head -1)"
