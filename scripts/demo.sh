#!/usr/bin/env bash
# The project's demo (README "Quick start"): builds the binary, then runs it as the local CLI on
# every bundled fixture scenario (fixtures/<scenario>/env + event.json) and shows the tags it
# computed and the step summary it rendered. Needs no GITHUB_* variables and no network.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# Prints the value of one output from a $GITHUB_OUTPUT-format file (`name=value` lines and
# `name<<DELIM` ... `DELIM` blocks); the last occurrence wins, as on the runner. Fails if absent.
output_value() {
    awk -v key="$2" '
        inblock {
            if ($0 == delim) { inblock = 0; if (name == key) { val = buf; have = 1 } next }
            if (name == key) { buf = (nbuf++ ? buf "\n" : "") $0 }
            next
        }
        {
            i = index($0, "<<"); j = index($0, "=")
            if (i > 0 && (j == 0 || i < j)) {
                name = substr($0, 1, i - 1); delim = substr($0, i + 2)
                inblock = 1; buf = ""; nbuf = 0; next
            }
            if (j > 0 && substr($0, 1, j - 1) == key) { val = substr($0, j + 1); have = 1 }
        }
        END { if (have) print val; else exit 1 }
    ' "$1"
}

ra_log "installing what is missing"
ra_install_deps

ra_log "cargo build --release"
cargo build --release --locked --bin registry-action
cargo build --release --locked -p imagekit --bin sample-image
binary="$PWD/target/release/registry-action"
sample="$PWD/target/release/sample-image"

shopt -s nullglob
envs=(fixtures/*/env)
shopt -u nullglob
[[ ${#envs[@]} -gt 0 ]] || ra_die "no fixture scenarios found (expected fixtures/<scenario>/env)"

# The fixture is the whole context: drop any workflow variables of the calling shell.
clean_env=()
while IFS= read -r name; do
    case "$name" in
        GITHUB_* | INPUT_* | RUNNER_* | DOCKER_METADATA_* | SOURCE_DATE_EPOCH) clean_env+=(-u "$name") ;;
    esac
done < <(compgen -e)

bold='' plain=''
if [[ -t 1 ]]; then
    bold=$'\033[1m' plain=$'\033[0m'
fi

out_root="$PWD/.demo"
rm -rf "$out_root"
failed=()
for env_file in "${envs[@]}"; do
    scenario="$(basename "$(dirname "$env_file")")"
    out="$out_root/$scenario"
    mkdir -p "$out"
    printf '\n%s=== %s ===%s\n' "$bold" "$scenario" "$plain"
    grep -E '^(GITHUB_EVENT_NAME|GITHUB_REF|INPUT_[A-Z_-]+)=' "$env_file" | sed 's/^/    /' || true

    if ! env "${clean_env[@]}" "$binary" --env-file "$env_file" \
        --output "$out/output" --summary "$out/summary" >"$out/log" 2>&1; then
        echo "--- FAILED; its log ($out/log):"
        sed 's/^/    /' "$out/log"
        failed+=("$scenario")
        continue
    fi

    echo "--- tags:"
    if [[ -f "$out/output" ]] && tags="$(output_value "$out/output" tags)"; then
        if [[ -n "$tags" ]]; then
            while IFS= read -r tag; do printf '    %s\n' "$tag"; done <<<"$tags"
        else
            echo "    (none)"
        fi
    else
        echo "    (the binary wrote no 'tags' output)"
    fi
    echo "--- step summary:"
    if [[ -s "$out/summary" ]]; then
        cat "$out/summary"
    else
        echo "    (the binary wrote no step summary)"
    fi
done

# The main job: publish a multi-arch image for a release, as a workflow would, to two local
# registries standing in for GHCR and Docker Hub; then a hotfix released after it.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
registry_pids=()
stop_registries() { for pid in "${registry_pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done; }
trap stop_registries EXIT
start_registry() { # name -> sets $registry_addr (127.0.0.1:PORT); not in $(...): the PID must reach the trap
    local dir="$out_root/registries/$1" port
    port="$(free_port)"
    mkdir -p "$dir/data"
    printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:%s\n' "$dir" "$port" >"$dir/config.yml"
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    registry_pids+=($!)
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    registry_addr="127.0.0.1:$port"
}
publish_demo() {
    local ghcr hub out="$out_root/publish"
    mkdir -p "$out"
    start_registry ghcr
    ghcr="$registry_addr"
    start_registry hub
    hub="$registry_addr"
    "$sample" --out "$out/v0.2.0" --platform-mib 8 --attestation --seed 1 >/dev/null
    "$sample" --out "$out/v0.1.1" --platform-mib 8 --attestation --seed 2 >/dev/null
    printf '\n%s=== publish: release v0.2.0 to %s and %s ===%s\n' "$bold" "$ghcr" "$hub" "$plain"
    env "${clean_env[@]}" "$binary" --env-file fixtures/release-v0.2.0/env --source "oci:$out/v0.2.0" \
        --images "$ghcr/octo-org/app" --images "$hub/octoorg/app" \
        --output "$out/release-output" --summary "$out/release-summary" >"$out/release-log" 2>&1 ||
        { sed 's/^/    /' "$out/release-log"; return 1; }
    cat "$out/release-summary"
    printf '%s=== publish: hotfix v0.1.1 after v0.2.0 (latest and v0 stay on v0.2.0) ===%s\n' "$bold" "$plain"
    env "${clean_env[@]}" "$binary" --env-file fixtures/release-v0.2.0/env --ref refs/tags/v0.1.1 \
        --source "oci:$out/v0.1.1" --images "$ghcr/octo-org/app" --images "$hub/octoorg/app" \
        --output "$out/hotfix-output" --summary "$out/hotfix-summary" >"$out/hotfix-log" 2>&1 ||
        { sed 's/^/    /' "$out/hotfix-log"; return 1; }
    sed -n '/^### Published/,$p' "$out/hotfix-summary"
    echo "--- what the registries serve (skopeo, an independent client):"
    local tag
    for tag in v0.2.0 v0.1.1 v0.2 v0.1 v0 latest; do
        printf '    %-7s %s  %s\n' "$tag" \
            "$(skopeo inspect --raw --tls-verify=false "docker://$ghcr/octo-org/app:$tag" | sha256sum | cut -c1-16)" \
            "$(skopeo inspect --raw --tls-verify=false "docker://$hub/octoorg/app:$tag" | sha256sum | cut -c1-16)"
    done
}
publish_demo || failed+=(publish)

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    ra_die "demo: ${#failed[@]} of ${#envs[@]} scenarios failed: ${failed[*]}"
fi
echo "demo: ${#envs[@]} tag scenarios and the publish job run; outputs, summaries and logs are in .demo/"
