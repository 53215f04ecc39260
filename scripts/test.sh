#!/usr/bin/env bash
# Runs the whole test suite. The model and CLI tests need only the Rust toolchain and, for the tests over real
# data, ../shared/data beside the project. The /metrics test also runs `promtool check metrics`: promtool is
# installed here when missing (Debian's `prometheus` package, when apt-get exists and we are root), and the
# test is then required to run (THV_REQUIRE_TOOLS=1) instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "test.sh: installing promtool (Debian package prometheus)" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >&2 \
            || echo "test.sh: could not install promtool; the /metrics lint test will skip" >&2
    else
        echo "test.sh: promtool not found; the /metrics lint test will skip." \
            "Install it with: sudo apt-get install --no-install-recommends prometheus" >&2
    fi
fi
if command -v promtool >/dev/null 2>&1; then
    export THV_REQUIRE_TOOLS=1
fi

exec cargo test --workspace --locked "$@"
