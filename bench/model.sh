#!/usr/bin/env bash
# Parse + validate + convert of the full production registry dump, in a release build.
# Prints per-phase times and peak memory. Targets: total < 100 ms, peak RSS < 64 MB.
#   bench/model.sh [FILE] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-../shared/data/upstream/real/mcp-insights-servers.2025-12-18.json}
iterations=${2:-20}
cargo build --release --quiet -p thv-model --example bench_dump
./target/release/examples/bench_dump "$file" "$iterations"
echo "single run (peak RSS of one pass):"
./target/release/examples/bench_dump "$file" 1 | grep -E "total|peak"
