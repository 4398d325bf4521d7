# registry-action container image: one static musl binary, CA certificates, nothing else.
#
# Needs BuildKit (the default `docker build` since Docker 23, and `docker buildx build`). The build
# stage runs on the builder's own platform and cross-compiles for TARGETARCH, so a multi-platform
# build (linux/amd64,linux/arm64) needs no emulation.

# The toolchain of rust-toolchain.toml (tests/release.rs checks they agree).
ARG RUST_VERSION=1.95.0

FROM --platform=$BUILDPLATFORM rust:${RUST_VERSION}-bookworm AS build
ARG TARGETARCH
WORKDIR /src

# Pick the musl target for TARGETARCH, and a C toolchain for it (for dependencies with C code):
# musl-gcc when building for the builder's own architecture, the Debian cross gcc otherwise
# (Rust's musl targets link their own self-contained musl CRT and libc).
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) target=x86_64-unknown-linux-musl; cross=x86_64-linux-gnu; crosspkg="gcc-x86-64-linux-gnu libc6-dev-amd64-cross" ;; \
      arm64) target=aarch64-unknown-linux-musl; cross=aarch64-linux-gnu; crosspkg="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;; \
      *) echo "unsupported TARGETARCH: $arch" >&2; exit 1 ;; \
    esac; \
    if [ "$(uname -m)" = "${target%%-*}" ]; then cc=musl-gcc; pkgs=musl-tools; else cc="$cross-gcc"; pkgs="$crosspkg"; fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs; \
    rm -rf /var/lib/apt/lists/*; \
    rustup target add "$target"; \
    triple_env="$(echo "$target" | tr 'a-z-' 'A-Z_')"; \
    { echo "target=$target"; \
      echo "export CC_$(echo "$target" | tr '-' '_')=$cc"; \
      if [ "$cc" != musl-gcc ]; then echo "export CARGO_TARGET_${triple_env}_LINKER=$cc"; fi; \
    } > /build.env; \
    cat /build.env

COPY . .

RUN set -eu; \
    . /build.env; \
    cargo build --release --locked --target "$target"; \
    mkdir -p /out; \
    cp "target/$target/release/registry-action" /out/registry-action

# Final stage: no shell, no package manager, no secrets; only the binary and CA certificates.
FROM scratch
LABEL org.opencontainers.image.title="registry-action" \
      org.opencontainers.image.description="Compute image tags, publish, verify and clean up container images: one static binary" \
      org.opencontainers.image.licenses="Apache-2.0"
# The committed Mozilla bundle (scripts/update-ca-bundle.sh), as in the reproducible image.
COPY packaging/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/registry-action /registry-action
# No USER on purpose: GitHub runs a container action as the image's user, and the runner's
# file commands ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_STEP_SUMMARY under /github/file_commands)
# are writable only by root inside the container. With a non-root USER every run fails with
# "Permission denied" on $GITHUB_OUTPUT (GitHub's "Dockerfile support for GitHub Actions": "Docker
# actions must be run by the default Docker user (root)"). The image holds nothing but this one
# static binary and CA certificates: no shell, no package manager, nothing else to run as root.
ENTRYPOINT ["/registry-action"]
