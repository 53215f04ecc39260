#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (docs/fuzzing.md) one after another, each for SECONDS_PER_TARGET
# seconds (default 60), all of them unless TARGET names are given:
#
#   scripts/fuzz.sh                    # every target, 60 s each
#   scripts/fuzz.sh 600 catalog_load   # one target for 10 minutes
#
# Each target's corpus, fuzz/corpus/TARGET, is seeded at every run from ../shared/data (records and catalogs
# split into small documents, server names made into requests and filters) and from the hand-written seeds of
# fuzz/seeds/TARGET; what libFuzzer finds is kept there for the next run. A crash, a timeout or an
# out-of-memory input stops that target and is kept under fuzz/artifacts/TARGET/; the other targets still run,
# and the script exits 1 naming every input kept. It prints, per target, the seconds, executions and coverage.
#
# Needs a nightly toolchain (`rustup toolchain install nightly`) or, failing that, runs the default toolchain
# with RUSTC_BOOTSTRAP=1. cargo-fuzz is installed from crates.io into the cache when missing.
#
# Environment: THV_FUZZ_TARGET_DIR (default $CARGO_TARGET_DIR/fuzz, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/thv-registry/fuzz-target), THV_FUZZ_JOBS (parallel fuzzing processes per
# target, default 1), THV_FUZZ_ARGS (more libFuzzer flags), THV_SHARED_DATA (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

readonly CARGO_FUZZ_VERSION=0.13.2
cache=${XDG_CACHE_HOME:-$HOME/.cache}/thv-registry
seconds=${1:-60}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]  (seconds: a positive whole number, not '$seconds')" >&2
    exit 2
fi
data=${THV_SHARED_DATA:-$root/../shared/data}
if [ ! -d "$data/upstream" ] || [ ! -d "$data/toolhive" ]; then
    echo "$0: the corpus is seeded from ../shared/data, which is not beside the project ($data)" >&2
    exit 1
fi
require_tool jq jq

mapfile -t all_targets < <(find fuzz/fuzz_targets -name '*.rs' -printf '%f\n' | sed 's/\.rs$//' | sort)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    if [ ! -f "fuzz/fuzz_targets/$target.rs" ]; then
        echo "$0: no fuzz target '$target'; the targets are: ${all_targets[*]}" >&2
        exit 2
    fi
done

# The toolchain: nightly when installed, else the default one allowed nightly flags.
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi
# cargo-fuzz: on PATH, else in the cache, else installed there.
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    if [ ! -x "$cache/cargo-fuzz/bin/cargo-fuzz" ]; then
        echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into $cache/cargo-fuzz"
        cargo install --locked --quiet --root "$cache/cargo-fuzz" --version "$CARGO_FUZZ_VERSION" cargo-fuzz
    fi
    export PATH=$cache/cargo-fuzz/bin:$PATH
fi
target_dir=${THV_FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}}
target_dir=${target_dir:-$cache/fuzz-target}

# --- the corpus of each target ---------------------------------------------------------------------------
# Writes stdin to DIR/NAME.
put() { cat >"$1/$2"; }
# Writes each line of stdin to DIR/PREFIX-N.json.
split_lines() { awk -v out="$1/$2" '{ f = out "-" NR ".json"; print > f; close(f) }'; }
# The records of an upstream array file (BOM dropped), each as an array of one record.
records() { sed '1s/^\xEF\xBB\xBF//' "$1" | jq -c '.[] | [.]'; }

catalog_seeds() {
    local dir=$1 file
    # Whole documents that are small; the big ones split into one document per record, in the same format.
    cp "$data"/upstream/examples/*.json "$data"/upstream/seed/seed.2025-12-11-format.json "$dir/"
    for file in "$data"/upstream/real/*.json "$data"/upstream/seed/seed.358-servers.2025-09-29-format.json; do
        records "$file" | split_lines "$dir" "$(basename "$file" .json)"
    done
    jq -c '. as $all | (.servers | keys[] | . as $k | $all | .servers |= {($k): .[$k]} | .remote_servers = {}),
        (.remote_servers | keys[] | . as $k | $all | .remote_servers |= {($k): .[$k]} | .servers = {})' \
        "$data/toolhive/registry.json" | split_lines "$dir" toolhive
    jq -c '. as $all | range(.data.servers | length) as $i | $all | .data.servers |= [.[$i]]' \
        "$data/toolhive/upstream-registry.example.json" | split_lines "$dir" wrapper
}

# Requests for the servers and versions of the catalog the API target serves.
api_request_seeds() {
    local dir=$1
    sed '1s/^\xEF\xBB\xBF//' "$data/upstream/real/subset-diverse.json" |
        jq -r '.[].server | "\(.name|@uri) \(.version|@uri)"' | sort -u | head -n 40 |
        while read -r name version; do
            printf 'GET /v0.1/servers/%s/versions/%s\n\n' "$name" "$version" | put "$dir" "version-$name-$version"
            printf 'GET /v0.1/servers?search=%s&limit=3\n\n' "${name#*%2F}" | put "$dir" "search-$name"
        done
    jq -r '.servers * .remote_servers | keys[]' "$data/toolhive/registry.json" | head -n 40 |
        while read -r name; do
            printf 'GET /api/v1/servers/%s?registry=toolhive\n\n' "$name" | put "$dir" "toolhive-$name"
        done
}

# Filters over the names, tags, tiers and transports of ToolHive's catalog.
filter_glob_seeds() {
    local dir=$1
    jq -r '.servers * .remote_servers | to_entries[] | [.key, (.value.tier // ""), (.value.transport // ""),
            ((.value.tags // [])[0:3] | join(" "))] | @tsv' "$data/toolhive/registry.json" |
        while IFS=$'\t' read -r name tier transport tags; do
            {
                printf '+n:%s*\n-t:%s\n+r:%s\nN:io.github.stacklok/%s\nN:%s\nR:%s\nP:%s\n' \
                    "${name:0:3}" "${tags%% *}" "$tier" "$name" "$name" "$tier" "$transport"
                for tag in $tags; do printf 'T:%s\n' "$tag"; done
            } | put "$dir" "toolhive-$name"
        done
}

# The configuration of docs/cli.md, and the spec of each MCPRegistry of deploy/examples.
registries_yaml_seeds() {
    local dir=$1
    awk '/^```yaml$/ {on = 1; next} /^```$/ {on = 0} on' docs/cli.md | put "$dir" "docs-cli.yaml"
    for file in deploy/examples/*.yaml; do
        awk '/^kind: MCPRegistry$/ {mine = 1} /^---$/ {mine = 0; on = 0}
             mine && /^spec:$/ {on = 1; next} on && /^[^ ]/ {on = 0} on {sub(/^  /, ""); print}' "$file" |
            put "$dir" "example-$(basename "$file")"
    done
}

seed() {
    local target=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    case $target in
        catalog_* | api_pages) catalog_seeds "$dir" ;;
        api_request) api_request_seeds "$dir" ;;
        filter_glob) filter_glob_seeds "$dir" ;;
        registries_yaml) registries_yaml_seeds "$dir" ;;
    esac
    if [ -d "fuzz/seeds/$target" ]; then
        cp fuzz/seeds/"$target"/* "$dir/"
    fi
    find "$dir" -type f -empty -delete
}

# --- build and run --------------------------------------------------------------------------------------
echo "== building ${#targets[@]} fuzz target(s) into $target_dir"
build_started=$(date +%s)
for target in "${targets[@]}"; do
    (cd fuzz && cargo "${toolchain[@]}" fuzz build --target-dir "$target_dir" "$target")
done
echo "   built in $(($(date +%s) - build_started)) s"

failed=()
summary=()
for target in "${targets[@]}"; do
    seed "$target"
    log=fuzz/artifacts/$target.log
    mkdir -p "fuzz/artifacts/$target"
    echo "== $target: ${seconds} s from $(find "fuzz/corpus/$target" -type f | wc -l) corpus inputs"
    started=$(date +%s)
    status=0
    flags=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1)
    # `-jobs` makes libFuzzer log to fuzz-N.log files of its own, so it is given only when asked for.
    jobs=${THV_FUZZ_JOBS:-1}
    [ "$jobs" -le 1 ] || flags+=(-fork="$jobs")
    # shellcheck disable=SC2206 # THV_FUZZ_ARGS is a list of flags
    flags+=(${THV_FUZZ_ARGS:-})
    (cd fuzz && cargo "${toolchain[@]}" fuzz run --target-dir "$target_dir" "$target" -- "${flags[@]}") \
        >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - started))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
    line="$target: ${elapsed} s, ${runs:-?} executions, ${cov:-no coverage line}"
    if [ "$status" -ne 0 ]; then
        kept=$(find "fuzz/artifacts/$target" -type f -newermt "@$started" | tr '\n' ' ')
        line="$line — FAILED (exit $status), kept: ${kept:-nothing}; see $log"
        failed+=("$target")
        grep -m 5 -E '^(thread .* panicked|==[0-9]+==ERROR|SUMMARY)' "$log" | sed 's/^/   /' || true
    fi
    echo "   $line"
    summary+=("$line")
done

echo "== summary"
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "$0: ${#failed[@]} target(s) found a failure: ${failed[*]}" >&2
    exit 1
fi
