#!/usr/bin/env bash
# The model's costs on real data, in a release build:
# - parse + validate + load + convert to ToolHive of the full production registry dump (per-phase times and
#   peak memory; targets: total < 100 ms, peak RSS < 64 MB);
# - filtering 10,000 real servers, the dump's content digest, and schema/strict validation, each beside its
#   budget (filter < 0.5 ms per 1,000 servers, digest < 25 ms, schema validation < 20 ms).
#   bench/model.sh [FILE] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data
file=${1:-$data/upstream/real/mcp-insights-servers.2025-12-18.json}
iterations=${2:-20}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet -p thv-model --example bench_dump --example bench_filter
"$target/release/examples/bench_dump" "$file" "$iterations"
echo "single run (peak RSS of one pass):"
"$target/release/examples/bench_dump" "$file" 1 | grep -E "total|peak"
"$target/release/examples/bench_filter" "$data"
