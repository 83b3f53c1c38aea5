#!/usr/bin/env bash
# The main job: sets up, builds, and runs the whole access flow on simulated cards (no hardware, no daemon).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --product carte 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
exec "$(swift build --show-bin-path)/carte" demo "$@"
