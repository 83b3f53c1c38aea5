#!/usr/bin/env bash
# Sets up, builds `carte` in release with the Swift runtime linked statically (as it is shipped to a kiosk: no Swift
# toolchain on the terminal), starts a private pcscd with the vpcd driver, and runs `carte bench` with every figure
# (flows, peers, host, INS-C, service). Arguments go to `carte bench`, e.g.:
#
#   bash scripts/bench.sh --json > bench.json
#
# Host-time figures (INS-C rows/s, per-APDU overhead, service memory) mean something only in this release build;
# wire figures are virtual and the same in any build. Progress goes to stderr, the figures to stdout.
#
# Like scripts/test.sh, the pcscd + vpcd phase runs in a private network namespace with only the loopback interface
# when this machine allows one (vpcd listens on every interface), else on the host with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--run-phase" ]; then
  source scripts/setup.sh >&2
  echo "bench: building carte in release (static Swift runtime; the first build takes several minutes)" >&2
  log=$(mktemp "${TMPDIR:-/tmp}/carte-bench-build.XXXXXX")
  if ! swift build -c release --static-swift-stdlib --product carte >"$log" 2>&1; then
    grep -E 'error' "$log" >&2 || tail -20 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
    exec unshare --net bash -c 'ip link set lo up && exec bash scripts/bench.sh --run-phase "$@"' bash "$@"
  elif unshare --user --map-root-user --net true 2>/dev/null; then
    exec unshare --user --map-root-user --net bash -c 'ip link set lo up && exec bash scripts/bench.sh --run-phase "$@"' bash "$@"
  else
    echo "bench: cannot create a network namespace here; vpcd's ports will listen on every interface" >&2
    exec bash scripts/bench.sh --run-phase "$@"
  fi
fi
shift

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
# Its own pcscd, apart from the one scripts/test.sh may be running.
export CARTE_PCSCD_DIR="${CARTE_BENCH_PCSCD_DIR:-/tmp/carte-bench-pcscd}"
echo "bench: starting a private pcscd with the vpcd driver" >&2
eval "$(bash scripts/pcscd-vpcd.sh start)"
export PCSCLITE_CSOCK_NAME
trap 'bash scripts/pcscd-vpcd.sh stop >/dev/null 2>&1 || true' EXIT
"$(swift build -c release --show-bin-path)/carte" bench "$@"
