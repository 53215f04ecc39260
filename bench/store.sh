#!/usr/bin/env bash
# Store benchmark: commit and load times of the SQLite and PostgreSQL backends (release build).
# Prints, per backend and workload (10,000 generated versions; the real 2,794-version dump when
# ../shared/data is there): a commit of every version into an empty registry, a commit replacing them all,
# and a load of the catalog — the median of 3 rounds — then PostgreSQL documents as TEXT vs JSONB.
# PostgreSQL is a private cluster started for the run (default durability) unless --database names one.
#   bench/store.sh [--versions N] [--rounds R] [--database postgres://USER@HOST/DB]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
if [[ " $* " != *" --database "* ]]; then
    require_postgres
    THV_POSTGRES_BIN=$(postgres_bin_dir)
    export THV_POSTGRES_BIN
fi
exec cargo run --release --quiet --locked -p thv-store --example store_bench -- "$@"
