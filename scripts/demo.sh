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
cargo build --release --locked
binary="$PWD/target/release/registry-action"

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

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    ra_die "demo: ${#failed[@]} of ${#envs[@]} scenarios failed: ${failed[*]}"
fi
echo "demo: ${#envs[@]} scenarios run; outputs, summaries and logs are in .demo/<scenario>/"
