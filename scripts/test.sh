#!/usr/bin/env bash
# Sets up and runs every test: unit tests, simulator tests, and end-to-end tests through a private pcscd with the
# vpcd driver (loopback only), then the third-party tool checks (opensc-tool, pcsc_scan).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "test: building"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Write|Emitting)' || true
swift build --build-tests >/dev/null   # fail here if the build failed

echo "test: starting a private pcscd with the vpcd driver"
eval "$(bash scripts/pcscd-vpcd.sh start)"
trap 'bash scripts/pcscd-vpcd.sh stop >/dev/null 2>&1 || true' EXIT

echo "test: swift test (unit, simulator, end-to-end through pcscd + vpcd)"
CARTE_E2E=1 swift test --skip-build

echo "test: third-party tools against simulated cards"
bash scripts/e2e-tools.sh
echo "test: all passed"
