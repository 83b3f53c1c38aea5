#!/usr/bin/env bash
# Sets up and runs every test: unit, simulator and CLI tests, then end-to-end tests through a private pcscd with the
# vpcd driver, then the third-party tool checks (opensc-tool, pcsc_scan).
#
# vpcd listens on 0.0.0.0 (its configuration has no bind address), so the test phase runs inside a private network
# namespace that has only the loopback interface: the simulated cards are reachable from 127.0.0.1 and from nowhere
# else. Without the rights to create one (not root, no user namespaces) it says so and runs on the host.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--run-phase" ]; then
  source scripts/setup.sh
  echo "test: building"
  swift build --build-tests 2>&1 | grep -E 'error|warning: |Compiling|Build complete' | grep -vE '^\[[0-9]+/[0-9]+\] Compiling' || true
  swift build --build-tests >/dev/null   # fails here if the build failed
  echo "test: building carte in release for carte bench (static Swift runtime, as shipped)"
  swift build -c release --static-swift-stdlib --product carte 2>&1 | grep -E 'error|warning: ' || true
  swift build -c release --static-swift-stdlib --product carte >/dev/null
  export CARTE_TEST_ISOLATED=0
  if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
    echo "test: running in a private network namespace (loopback only)"
    exec unshare --net env CARTE_TEST_ISOLATED=1 bash -c 'ip link set lo up && exec bash scripts/test.sh --run-phase'
  elif unshare --user --map-root-user --net true 2>/dev/null; then
    echo "test: running in a private user + network namespace (loopback only)"
    exec unshare --user --map-root-user --net env CARTE_TEST_ISOLATED=1 \
      bash -c 'ip link set lo up && exec bash scripts/test.sh --run-phase'
  else
    echo "test: cannot create a network namespace here; vpcd's test ports will listen on every interface" >&2
    exec bash scripts/test.sh --run-phase
  fi
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

echo "test: starting a private pcscd with the vpcd driver"
eval "$(bash scripts/pcscd-vpcd.sh start)"
export PCSCLITE_CSOCK_NAME
trap 'bash scripts/pcscd-vpcd.sh stop >/dev/null 2>&1 || true' EXIT

echo "test: swift test — unit, simulator and CLI tests"
swift test --skip-build --skip EndToEndTests

# On their own, so that CPU-bound suites (fuzz passes, key generation) do not starve the event consumers whose
# latency these tests bound.
echo "test: fuzzing every parser for a short time (scripts/fuzz.sh; longer runs: bash scripts/fuzz.sh 600)"
bash scripts/fuzz.sh 15

echo "test: kiosk page (carte serve --simulate, headless Chromium screenshot)"
bash scripts/kiosk-screenshot.sh

# One suite at a time: they share the vpcd slots of the one private pcscd.
echo "test: swift test — end to end through pcscd + vpcd"
e2e_suites=$(swift test list --skip-build 2>/dev/null | grep -E 'EndToEndTests/' | sed 's|/.*||' | sort -u)
[ -n "$e2e_suites" ] || { echo "test: no end-to-end suite found" >&2; exit 1; }
for suite in $e2e_suites; do
  echo "test: end to end — $suite"
  CARTE_E2E=1 swift test --skip-build --filter "^${suite//./\\.}/"
done

echo "test: fault matrix — pcscd killed at APDU k of carte read and carte auth (its own private pcscd)"
CARTE_E2E_PCSCD_KILL=1 swift test --skip-build --filter "PCSCDKilledTests"

echo "test: third-party tools against simulated cards"
bash scripts/e2e-tools.sh

echo "test: OpenSC (opensc-tool, pkcs15-tool, pkcs11-tool) against the simulated CPS3"
bash scripts/opensc-checks.sh
echo "test: carte bench --json (release build): every figure of issue 9 present"
bench_json=$(mktemp "${TMPDIR:-/tmp}/carte-bench.XXXXXX.json")
bench_status=0
"$(swift build -c release --show-bin-path)/carte" bench --json >"$bench_json" && python3 scripts/bench-check.py "$bench_json" \
  || bench_status=$?
rm -f "$bench_json"
[ "$bench_status" = 0 ] || { echo "test: carte bench failed or a figure is missing" >&2; exit 1; }
echo "test: all passed"
