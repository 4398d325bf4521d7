#!/usr/bin/env bash
# The heavy reproducibility check (not part of scripts/test.sh): clones the current commit into two
# fresh directories, runs scripts/build-image.sh in each (four release builds from scratch: about
# 20 minutes on 2 cores), and compares the two index digests. Different directories, same commit:
# the digests must match, or something of the build's location leaked into the image. When
# action.yml pins a digest, it is compared too (on a release commit they must match).
#
# Usage: bash scripts/check-reproducible.sh [PLATFORM...]   (default: linux/amd64 linux/arm64)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

started=$SECONDS
repo="$(pwd -P)"
commit="$(git rev-parse HEAD)"
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
    ra_warn "uncommitted changes are not part of the check: it builds commit $commit"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/ra-repro.XXXXXX")"
trap 'rm -rf "$work"' EXIT

declare -A digests
for side in one two-with-a-longer-path; do
    dir="$work/$side/registry-action"
    ra_log "cloning $commit into $dir"
    git clone --quiet --no-local "$repo" "$dir"
    git -C "$dir" checkout --quiet --detach "$commit"
    side_started=$SECONDS
    # A fresh target directory per clone: nothing is shared between the two builds but the
    # toolchain and the downloaded crate sources.
    (unset CARGO_TARGET_DIR SOURCE_DATE_EPOCH && bash "$dir/scripts/build-image.sh" "$@") >"$work/$side.log" 2>&1 ||
        { tail -n 40 "$work/$side.log" >&2; ra_die "build-image.sh failed in $dir"; }
    digests[$side]="$(sed -n 's/^digest: //p' "$work/$side.log")"
    ra_log "$side: ${digests[$side]} in $((SECONDS - side_started))s"
    grep '^    linux/' "$work/$side.log" >&2 || true
done

one="${digests[one]}"
two="${digests[two-with-a-longer-path]}"
[[ -n "$one" && "$one" == "$two" ]] ||
    ra_die "not reproducible: $one vs $two (logs were in $work, now removed; rerun to inspect)"

pinned="$(sed -n 's|^ *image: *docker://[^@]*@\(sha256:[0-9a-f]\{64\}\).*|\1|p' action.yml)"
if [[ -n "$pinned" && "$#" -eq 0 ]]; then
    [[ "$pinned" == "$one" ]] || ra_warn "action.yml pins $pinned; this commit builds $one (expected on a development commit, not on a release commit)"
fi
echo "check-reproducible.sh: both builds of $commit give $one ($((SECONDS - started))s)"
