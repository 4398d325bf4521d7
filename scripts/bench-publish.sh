#!/usr/bin/env bash
# Benchmark: registry-action publish vs skopeo, side by side, on three fresh local registries
# (source A, destinations B and C, reset before every run). Prints median wall time, requests per
# registry (from each registry's access log) and blob bytes committed. Issue #4's "must show".
# Usage: bash scripts/bench-publish.sh [RUNS] [PLATFORM_MIB] [SCENARIOS]   (defaults: 3 runs, 64 MiB per platform, abcd; e: the image with referrers)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ra_log "installing what is missing"
ra_apt_ensure docker-registry:docker-registry skopeo:skopeo python3:python3
ra_rust_ensure
ra_log "cargo build --release (binary and the sample-image generator)"
cargo build --release --locked --bin registry-action
cargo build --release --locked -p imagekit --bin sample-image
exec python3 scripts/bench_publish.py --runs "${1:-3}" --platform-mib "${2:-64}" --only "${3:-abcd}"
