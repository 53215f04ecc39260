#!/usr/bin/env bash
# The MCPRegistry operator at scale, on its own process: COUNT MCPRegistries with ConfigMap sources of ~50
# servers each (API Deployments on) against the fake Kubernetes API server served over HTTP on loopback.
# Prints, for the operator process only: the time and CPU to sync all, idle CPU over IDLE_SECONDS, the latency
# from a source ConfigMap edit to the storage ConfigMap write (p50/p99) and RSS (now and peak), each against
# its target (idle <= 0.01 cores, p99 <= 1 s, RSS <= 50 MB).
#   bench/operator.sh [COUNT] [IDLE_SECONDS]     (defaults: 100 registries, 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet -p thv-operator --example bench_operator
"$target/release/examples/bench_operator" "${1:-100}" "${2:-60}"
