#!/usr/bin/env bash
# Builds registry-action's container image reproducibly, without Docker: the static musl release
# binaries for linux/amd64 and linux/arm64 (cross-compiled; installs what is missing), then the
# OCI image layout (crates/imagekit's assemble-image) in target/image. Prints the index digest, the
# digest that action.yml pins, and each platform's image size; fails when a platform's image is
# over the 8 MiB budget.
#
# Same commit + same toolchain (rust-toolchain.toml) + same C compiler (Debian bookworm's gcc,
# for ring's C code) = same digest. SOURCE_DATE_EPOCH defaults to the commit's time.
#
# Usage: bash scripts/build-image.sh [PLATFORM...]   (default: linux/amd64 linux/arm64)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

MAX_IMAGE_BYTES=$((8 * 1024 * 1024))
out="${CARGO_TARGET_DIR:-target}/image"
platforms=("$@")
[[ ${#platforms[@]} -gt 0 ]] || platforms=(linux/amd64 linux/arm64)

started=$SECONDS
# The toolchain only: the C compilers come with each target (ra_release_env); no test tools.
ra_toolchain_ensure
ra_rust_ensure
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    ra_warn "the work tree has uncommitted changes: this image is not the one its commit builds"
fi
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" || ra_die "no SOURCE_DATE_EPOCH and no git commit"
fi
export SOURCE_DATE_EPOCH

args=()
for platform in "${platforms[@]}"; do
    target="$(ra_platform_target "$platform")"
    binary="$(ra_release_build "$target")"
    args+=(--binary "$platform=$binary")
done

ra_log "assembling the OCI layout in $out (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
rm -rf "$out"
assembled=$SECONDS
report="$(cargo run --quiet --locked -p imagekit --bin assemble-image -- "${args[@]}" \
    --ca-bundle packaging/ca-certificates.crt \
    --label org.opencontainers.image.title=registry-action \
    --label "org.opencontainers.image.description=Compute image tags, publish, verify and clean up container images: one static binary" \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    --out "$out")" || ra_die "assembling the image failed"
ra_log "assembled in $((SECONDS - assembled))s (including compiling the assembler when needed)"

digest="$(awk '$1 == "index-digest" { print $2 }' <<<"$report")"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || ra_die "the assembler printed no index digest: $report"
over=0
while read -r _ platform manifest tar_bytes gzip_bytes pull_bytes; do
    tar_bytes="${tar_bytes#*=}"
    pull_bytes="${pull_bytes#*=}"
    printf '    %-16s image %s (%s bytes), pull %s, %s\n' "$platform" "$(ra_mib "$tar_bytes")" \
        "$tar_bytes" "$(ra_mib "$pull_bytes")" "${manifest#*=}" >&2
    : "$gzip_bytes"
    if [[ "$tar_bytes" -gt "$MAX_IMAGE_BYTES" ]]; then
        ra_warn "$platform image is $(ra_mib "$tar_bytes"), over the $(ra_mib "$MAX_IMAGE_BYTES") budget"
        over=1
    fi
done < <(grep '^platform ' <<<"$report")
[[ "$over" -eq 0 ]] || ra_die "image size budget exceeded"

echo "build-image.sh: $out holds ${platforms[*]} in $((SECONDS - started))s"
echo "digest: $digest"
