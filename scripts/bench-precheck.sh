#!/usr/bin/env bash
# Benchmark: what checking a local source before the first write costs. Publishes a two-platform
# OCI layout (PLATFORM_MIB per platform, 4 layers) to a fresh local registry, then times how
# long a copy with one altered byte in its largest layer takes to be refused (nothing written):
# that time is the check's cost, paid before the first upload.
# Usage: bash scripts/bench-precheck.sh [RUNS] [PLATFORM_MIB]   (defaults: 3 runs, 512 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

runs="${1:-3}"
mib="${2:-512}"
ra_apt_ensure docker-registry:docker-registry python3:python3
ra_log "cargo build --release (binary and the sample-image generator)"
cargo build --release --locked --bin registry-action >&2
cargo build --release --locked -p imagekit --bin sample-image >&2
bin=target/release/registry-action
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/sample-image --out "$work/good" --platform-mib "$mib" --layers 4 \
    --seed 7 --top-seed 1 --ref src >/dev/null
cp -r "$work/good" "$work/bad"
largest="$(find "$work/bad/blobs/sha256" -type f -printf '%s %f\n' | sort -rn | head -n 1 | cut -d' ' -f2)"
python3 - "$work/bad/blobs/sha256/$largest" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000)
    byte = f.read(1)
    f.seek(1000)
    f.write(bytes([byte[0] ^ 0xFF]))
PY
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
fresh_registry() {
    if kill "${pid:-}" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work/data"
    docker-registry serve "$work/config.yml" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    ra_die "the registry did not start"
}
publish() {
    local t0 t1
    t0="$(date +%s.%N)"
    "$bin" publish --source "oci:$1:src" --images "127.0.0.1:$port/bench/app" \
        --tags type=raw,value=v1 --output "$work/output" --summary "$work/summary" >/dev/null 2>&1 || true
    t1="$(date +%s.%N)"
    python3 -c "print(f'{$t1 - $t0:.2f}')"
}
bytes="$(du -sb "$work/good/blobs" | cut -f1)"
echo "layout: 2 platforms x 4 layers, $mib MiB per platform, $(ra_mib "$bytes") of blobs"
for run in $(seq "$runs"); do
    fresh_registry
    ok="$(publish "$work/good")"
    fresh_registry
    refused="$(publish "$work/bad")"
    echo "run $run: publish ${ok} s; corrupt copy refused after ${refused} s (nothing written)"
done
