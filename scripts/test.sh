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
cargo clippy --all-targets --locked -- -D warnings || ra_die "clippy found problems (see above)"

ra_log "cargo test"
cargo test --locked || ra_die "tests failed (see above)"

ra_log "cargo build --release --target $target"
cargo build --release --locked --target "$target" || ra_die "static release build failed"
binary="target/$target/release/registry-action"
[[ -x "$binary" ]] || ra_die "release build produced no $binary"

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

echo "test.sh: all checks passed (fmt, clippy, tests, static $target binary $(ra_mib "$size")) in $((SECONDS - started))s"
