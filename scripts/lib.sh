# shellcheck shell=bash
# Shared helpers for scripts/*.sh: logging, and an idempotent installer for what the project's
# scripts need on a fresh Debian/Ubuntu machine (apt packages, rustup components and targets).
# Sourced, never run: `source "$(dirname "$0")/lib.sh"`.

# Packages every script needs, as `package:command` (the command proves the package is there).
# musl-tools: C code in dependencies for the static musl build; file: the static-link check;
# docker-registry and skopeo: local registries and image copies for the publish/verify tests.
# podman and runc: the runner harness (tests/runner) runs the action's image as GitHub does
# (runc: crun refuses this kind of machine's cgroup layout).
RA_APT_BASE=(musl-tools:musl-gcc file:file docker-registry:docker-registry skopeo:skopeo curl:curl python3:python3
    podman:podman runc:runc)

ra_log() { printf '==> %s\n' "$*" >&2; }
ra_warn() { printf 'warning: %s\n' "$*" >&2; }
ra_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
ra_as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        ra_die "need root to run '$*' (not root, and sudo is not installed)"
    fi
}

# True when a Debian package is installed (not merely known to dpkg).
ra_pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# ra_apt_ensure package:command...: installs, with one `apt-get update`, only the packages whose
# command is missing and which dpkg does not already list as installed. Package services (the
# docker-registry daemon, which would listen on every interface) are kept from starting.
ra_apt_ensure() {
    local spec pkg cmd missing=()
    for spec in "$@"; do
        pkg="${spec%%:*}"
        cmd="${spec#*:}"
        if command -v "$cmd" >/dev/null 2>&1 || ra_pkg_installed "$pkg"; then
            continue
        fi
        missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 ||
        ra_die "missing ${missing[*]} and apt-get is not available: install them by hand"
    ra_log "installing apt packages: ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e "$policy" ]]; then
        # exit 101 = "action forbidden": invoke-rc.d then starts no service during the install.
        printf '#!/bin/sh\nexit 101\n' | ra_as_root tee "$policy" >/dev/null
        ra_as_root chmod 755 "$policy"
        added_policy=1
    fi
    local rc=0
    ra_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        ra_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    if [[ "$added_policy" -eq 1 ]]; then
        ra_as_root rm -f "$policy"
    fi
    [[ "$rc" -eq 0 ]] || ra_die "apt-get install ${missing[*]} failed (exit $rc)"
}

# The musl target triple for this machine's architecture.
ra_musl_target() {
    case "$(uname -m)" in
        x86_64 | amd64) echo x86_64-unknown-linux-musl ;;
        aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
        *) ra_die "no musl target known for architecture $(uname -m)" ;;
    esac
}

# Adds rustfmt, clippy and the musl target to the active toolchain when they are missing.
ra_rust_ensure() {
    command -v cargo >/dev/null 2>&1 || ra_die "cargo not found: install Rust with rustup first"
    if ! command -v rustup >/dev/null 2>&1; then
        ra_warn "rustup not found: assuming rustfmt, clippy and the musl target are installed"
        return 0
    fi
    local installed target
    installed="$(rustup component list --installed)"
    local comp missing=()
    for comp in rustfmt clippy; do
        grep -q "^${comp}-" <<<"$installed" || grep -qx "$comp" <<<"$installed" || missing+=("$comp")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        ra_log "rustup component add ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
    target="$(ra_musl_target)"
    if ! rustup target list --installed | grep -qx "$target"; then
        ra_log "rustup target add $target"
        rustup target add "$target"
    fi
}

# The toolchain pinned in rust-toolchain.toml (`channel = "1.95.0"`).
ra_pinned_toolchain() {
    local file
    file="$(dirname "${BASH_SOURCE[0]}")/../rust-toolchain.toml"
    sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' "$file"
}

# Installs the pinned toolchain when rustup does not have it (rustup's automatic install may be
# off, RUSTUP_AUTO_INSTALL=0), with the components and targets rust-toolchain.toml lists.
ra_toolchain_ensure() {
    command -v rustup >/dev/null 2>&1 || return 0
    local channel
    channel="$(ra_pinned_toolchain)"
    [[ -n "$channel" ]] || ra_die "rust-toolchain.toml names no channel"
    if ! rustup toolchain list | grep -q "^${channel}-"; then
        ra_log "rustup toolchain install $channel (pinned in rust-toolchain.toml)"
        rustup toolchain install "$channel" --profile minimal --component rustfmt,clippy ||
            ra_die "cannot install the pinned toolchain $channel"
    fi
}

# Everything the test and demo scripts need.
ra_install_deps() {
    ra_apt_ensure "${RA_APT_BASE[@]}"
    ra_toolchain_ensure
    ra_rust_ensure
}

# Adds a rustup target to the pinned toolchain when it is missing.
ra_target_ensure() {
    command -v rustup >/dev/null 2>&1 || return 0
    if ! rustup target list --installed | grep -qx "$1"; then
        ra_log "rustup target add $1"
        rustup target add "$1"
    fi
}

# This machine's image platform (linux/amd64, linux/arm64).
ra_host_platform() {
    case "$(uname -m)" in
        x86_64 | amd64) echo linux/amd64 ;;
        aarch64 | arm64) echo linux/arm64 ;;
        *) ra_die "no image platform known for architecture $(uname -m)" ;;
    esac
}

# The musl target triple for an image platform (linux/amd64, linux/arm64).
ra_platform_target() {
    case "$1" in
        linux/amd64) echo x86_64-unknown-linux-musl ;;
        linux/arm64) echo aarch64-unknown-linux-musl ;;
        *) ra_die "no musl target known for platform $1" ;;
    esac
}

# ra_release_env TARGET: installs the C toolchain TARGET needs (ring has C code) and exports the
# environment of a reproducible release build for it: the C compiler and linker, and path
# remapping for Rust (`--remap-path-prefix`) and C (`-ffile-prefix-map`), so that neither this
# checkout's location nor $CARGO_HOME ends up in the binary. The flags are target-specific
# (CARGO_TARGET_<TRIPLE>_RUSTFLAGS, CFLAGS_<triple>): host builds (tests, clippy) are unaffected,
# and every script builds TARGET with the same flags, so they share one build.
ra_release_env() {
    local target="$1" root cargo_home triple_env cc_env arch
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
    cargo_home="$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)"
    triple_env="$(tr 'a-z-' 'A-Z_' <<<"$target")"
    cc_env="$(tr '-' '_' <<<"$target")"
    arch="${target%%-*}"
    if [[ "$(uname -m)" == "$arch" ]]; then
        ra_apt_ensure musl-tools:musl-gcc
        export "CC_${cc_env}=musl-gcc"
    else
        case "$arch" in
            aarch64) ra_apt_ensure gcc-aarch64-linux-gnu:aarch64-linux-gnu-gcc libc6-dev-arm64-cross: ;;
            x86_64) ra_apt_ensure gcc-x86-64-linux-gnu:x86_64-linux-gnu-gcc libc6-dev-amd64-cross: ;;
            *) ra_die "no cross C compiler known for $target" ;;
        esac
        export "CC_${cc_env}=${arch}-linux-gnu-gcc"
        export "CARGO_TARGET_${triple_env}_LINKER=${arch}-linux-gnu-gcc"
    fi
    ra_target_ensure "$target"
    export "CARGO_TARGET_${triple_env}_RUSTFLAGS=--remap-path-prefix=${root}=/src --remap-path-prefix=${cargo_home}=/cargo"
    export "CFLAGS_${cc_env}=-ffile-prefix-map=${root}=/src -ffile-prefix-map=${cargo_home}=/cargo"
    # Anything in RUSTFLAGS would replace the target flags above and differ between machines.
    unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS
}

# ra_release_build TARGET: the static release binary for TARGET (see ra_release_env); prints
# its path.
ra_release_build() {
    local target="$1" root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
    ra_release_env "$target"
    ra_log "cargo build --release --locked --target $target"
    # SOURCE_DATE_EPOCH is fixed for the compile (gcc's __DATE__/__TIME__; the cc crate rebuilds
    # C code whenever it changes): the image's timestamps come from the assembler, not from here,
    # and a constant lets test.sh and build-image.sh share one build across commits.
    (cd "$root" && SOURCE_DATE_EPOCH=0 cargo build --release --locked --target "$target" >&2) ||
        ra_die "static release build for $target failed"
    local binary="${CARGO_TARGET_DIR:-$root/target}/$target/release/registry-action"
    [[ -x "$binary" ]] || ra_die "release build produced no $binary"
    printf '%s\n' "$binary"
}

# Size of a file in bytes.
ra_file_size() {
    stat -c %s "$1"
}

# Bytes -> "1.23 MiB".
ra_mib() {
    awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'
}
