#!/usr/bin/env bash
# The main job: sets up, builds, and runs the whole access flow on simulated cards (no hardware, no daemon).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "demo: building carte (the first build takes a few minutes)"
if ! swift build --product carte > /tmp/carte-demo-build.$$.log 2>&1; then
  grep -E 'error' /tmp/carte-demo-build.$$.log >&2 || tail -20 /tmp/carte-demo-build.$$.log >&2
  rm -f /tmp/carte-demo-build.$$.log
  exit 1
fi
rm -f /tmp/carte-demo-build.$$.log
exec "$(swift build --show-bin-path)/carte" demo "$@"
