#!/usr/bin/env bash
# Benchmark: cold process start computing tags from one fixture. Builds the release binary,
# runs it RUNS times (default 200) on fixtures/release-v0.2.0/env, and reports min / median /
# p90 wall time in ms, plus the release binary's size for the host and the static musl target.
# Reports only: no assertion on timing. Usage: bash scripts/bench-tags.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

runs="${1:-${RUNS:-200}}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || ra_die "RUNS must be a positive integer, got '$runs'"
fixture=fixtures/release-v0.2.0/env
[[ -f "$fixture" ]] || ra_die "missing fixture $fixture"

ra_log "installing what is missing"
ra_rust_ensure
# hyperfine times whole commands; python3 reads its JSON. Without them, a plain loop is used.
(ra_apt_ensure hyperfine:hyperfine python3:python3) || ra_warn "could not install hyperfine"
target="$(ra_musl_target)"

ra_log "cargo build --release (host and $target)"
cargo build --release --locked
cargo build --release --locked --target "$target"
binary=target/release/registry-action
musl_binary="target/$target/release/registry-action"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The fixture is the whole context: drop any workflow variables of the calling shell.
clean_env=()
while IFS= read -r name; do
    case "$name" in
        GITHUB_* | INPUT_* | RUNNER_* | DOCKER_METADATA_* | SOURCE_DATE_EPOCH) clean_env+=(-u "$name") ;;
    esac
done < <(compgen -e)

cmd=("$binary" --env-file "$fixture" --output "$tmp/output" --summary "$tmp/summary")
# One run first: a failing binary should stop the benchmark, not be timed.
env "${clean_env[@]}" "${cmd[@]}" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log" >&2; ra_die "the binary failed on $fixture"; }

# Prints "min median p90" in ms from a file of run times in nanoseconds, one per line.
stats_ms() {
    sort -n "$1" | awk '{ t[NR] = $1 }
        END {
            n = NR; med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
            p = int(0.9 * n + 0.999999); if (p < 1) p = 1
            printf "%.2f %.2f %.2f\n", t[1] / 1e6, med / 1e6, t[p] / 1e6
        }'
}

times="$tmp/times_ns"
if command -v hyperfine >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    ra_log "hyperfine: $runs runs of ${cmd[*]}"
    # --shell=none: no shell start-up in the measurement; the env -u list keeps the fixture whole.
    env "${clean_env[@]}" hyperfine --shell=none --warmup 10 --runs "$runs" \
        --export-json "$tmp/hyperfine.json" "${cmd[*]}"
    python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["results"][0]["times"]:
    print(int(t * 1e9))' "$tmp/hyperfine.json" >"$times"
    tool=hyperfine
else
    ra_warn "hyperfine or python3 unavailable: timing with a date +%s%N loop"
    : >"$times"
    for ((i = 0; i < runs; i++)); do
        start="$(date +%s%N)"
        env "${clean_env[@]}" "${cmd[@]}" >/dev/null 2>&1
        end="$(date +%s%N)"
        echo $((end - start)) >>"$times"
    done
    tool="date loop (includes env/fork overhead)"
fi
read -r min median p90 < <(stats_ms "$times")

host_size="$(ra_file_size "$binary")"
musl_size="$(ra_file_size "$musl_binary")"
echo
echo "bench-tags: $runs cold starts on $fixture ($tool)"
printf '  min    %8s ms\n  median %8s ms\n  p90    %8s ms\n' "$min" "$median" "$p90"
printf '  binary size: host %s bytes (%s), %s %s bytes (%s)\n' \
    "$host_size" "$(ra_mib "$host_size")" "$target" "$musl_size" "$(ra_mib "$musl_size")"
