#!/usr/bin/env bash
# The project's one test command (README "Quick start"; `.ci/run` calls it): installs what is
# missing, then runs formatting, lints and every test, and builds and checks the static musl
# release binary that the container image ships.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# The static binary must stay small: it is the whole container image.
MAX_BINARY_BYTES=$((8 * 1024 * 1024))

started=$SECONDS
ra_log "installing what is missing"
ra_install_deps
target="$(ra_musl_target)"

ra_log "cargo fmt --check"
cargo fmt --all --check || ra_die "formatting differs: run 'cargo fmt --all'"

ra_log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings || ra_die "clippy found problems (see above)"

ra_log "workflow lint (zizmor, shellcheck)"
bash scripts/lint-workflows.sh || ra_die "the workflows have lint findings (see above)"

# The same build (flags, path remapping) as scripts/build-image.sh, so the image step below
# reuses it.
binary="$(ra_release_build "$target")"

ra_log "checking $binary is statically linked"
file_says="$(file -b "$binary")"
ldd_says="$(ldd "$binary" 2>&1 || true)"
if [[ "$file_says" != *"statically linked"* && "$file_says" != *"static-pie linked"* &&
    "$ldd_says" != *"not a dynamic executable"* && "$ldd_says" != *"statically linked"* ]]; then
    ra_die "$binary is not statically linked: file says '$file_says'; ldd says '$ldd_says'"
fi
printf '    file: %s\n    ldd:  %s\n' "$file_says" "$ldd_says"

size="$(ra_file_size "$binary")"
printf '    size: %s bytes (%s; limit %s)\n' "$size" "$(ra_mib "$size")" "$(ra_mib "$MAX_BINARY_BYTES")"
if [[ "$size" -gt "$MAX_BINARY_BYTES" ]]; then
    ra_die "$binary is $(ra_mib "$size"), over the $(ra_mib "$MAX_BINARY_BYTES") limit"
fi

# The image for this machine's platform, assembled from that binary (cheap: no other build), with
# its 8 MiB budget: the tests below run it. The other platform and the reproducibility check are heavier:
# scripts/build-image.sh and scripts/check-reproducible.sh.
platform="$(ra_host_platform)"
ra_log "assembling the $platform image layout (scripts/build-image.sh $platform)"
bash scripts/build-image.sh "$platform" || ra_die "the $platform image failed to assemble or is over budget"
RA_IMAGE_LAYOUT="${CARGO_TARGET_DIR:-target}/image"
[[ "$RA_IMAGE_LAYOUT" == /* ]] || RA_IMAGE_LAYOUT="$(pwd)/$RA_IMAGE_LAYOUT"

# The tests, the runner harness among them (tests/runner: the image above under podman, run as
# GitHub's runner runs it). CI=true: a missing registry, podman or image fails instead of skipping.
ra_log "cargo test (the image under podman: $RA_IMAGE_LAYOUT)"
CI="${CI:-true}" RA_IMAGE_LAYOUT="$RA_IMAGE_LAYOUT" cargo test --workspace --locked || ra_die "tests failed (see above)"

echo "test.sh: all checks passed (fmt, clippy, workflow lint, tests, static $target binary $(ra_mib "$size"), $platform image within budget) in $((SECONDS - started))s"
