#!/usr/bin/env bash
# Runs the whole test suite. Installs nothing today: the model and CLI tests need only the Rust toolchain
# and, for the tests over real data, ../shared/data beside the project.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --locked "$@"
