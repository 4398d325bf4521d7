#!/usr/bin/env bash
# Regenerates packaging/ca-certificates.crt, the CA bundle the container image ships, from the
# Mozilla certificates of Debian's ca-certificates package (never from /etc/ssl/certs, which holds
# whatever local CAs this machine trusts). The bundle is committed, so the image digest does not
# depend on the machine that builds it; run this, review the diff and commit to update it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ra_apt_ensure ca-certificates:update-ca-certificates
version="$(dpkg-query -W -f='${Version}' ca-certificates)"
out=packaging/ca-certificates.crt
mapfile -t certs < <(dpkg -L ca-certificates | grep '^/usr/share/ca-certificates/mozilla/.*\.crt$' | LC_ALL=C sort)
[[ ${#certs[@]} -gt 0 ]] || ra_die "ca-certificates lists no Mozilla certificates"
mkdir -p packaging
# Each certificate file ends with a newline; update-ca-certificates concatenates them the same way.
cat "${certs[@]}" >"$out.tmp"
mv "$out.tmp" "$out"
printf 'Debian ca-certificates %s, %s certificates, sha256 %s\n' \
    "$version" "${#certs[@]}" "$(sha256sum "$out" | cut -d' ' -f1)" >packaging/ca-certificates.crt.source
cat packaging/ca-certificates.crt.source
