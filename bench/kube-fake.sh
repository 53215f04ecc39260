#!/usr/bin/env bash
# The fake Kubernetes API server (crates/kube-fake) under a real kube-runtime Controller, in a release build:
# COUNT custom resources each reading a source ConfigMap of 50 servers and writing an owned storage ConfigMap
# and its status. Prints the time and CPU to reconcile all, idle CPU, source-edit-to-storage latency
# (p50/p99) and peak RSS (fake and controller in one process).
#   bench/kube-fake.sh [COUNT] [IDLE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet -p thv-kube-fake --example bench_controller
"$target/release/examples/bench_controller" "${1:-100}" "${2:-10}"
