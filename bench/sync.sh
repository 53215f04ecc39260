#!/usr/bin/env bash
# Sync benchmark: a synthetic catalog of COUNT server versions (default 10,000: 8,332 servers, every tenth
# with three versions) served over loopback, synced with `thv registry sync` from a URL source and from a
# registry-API source into a fresh SQLite database, or into PostgreSQL with --database.
# Prints, per source: full sync time, then RESYNCS unchanged re-syncs (default 5), each with the wall clock of
# the whole command and the sync's own time (the report's `duration`: reading the state, asking the source,
# recording the run), the peak RSS of the `thv` process, and the versions synced. Targets: full ≤ 3 s
# (SQLite, 10,000) or ≤ 5 s (PostgreSQL, 25,000), unchanged ≤ 100 ms (judged on the sync's own time),
# peak RSS ≤ 100 MB.
#   bench/sync.sh [COUNT] [--resyncs N] [--database postgres://USER@HOST/DB | --database postgres]
# `--database postgres` starts a private cluster for the run (PostgreSQL's default durability, see
# scripts/tools.sh); a URL names an existing database (its password from PGPASSWORD, ~/.pgpass or
# THV_DATABASE_PASSWORD_FILE), into which the registries `bench-url-PID` and `bench-registry-api-PID` are
# synced and removed again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
count=10000 database= resyncs=5
while [ $# -gt 0 ]; do
  case $1 in
    --resyncs) resyncs=${2:?--resyncs needs a number}; shift 2 ;;
    --database) database=${2:?--database needs postgres://… or postgres}; shift 2 ;;
    --database=*) database=${1#--database=}; shift ;;
    [0-9]*) count=$1; shift ;;
    *) echo "usage: bench/sync.sh [COUNT] [--resyncs N] [--database postgres://USER@HOST/DB | --database postgres]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
cleanup() {
  kill "${server_pid:-0}" 2>/dev/null || true
  stop_private_postgres
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet -p thv-cli --bin thv
cargo build --release --quiet -p thv-sync --example gen_catalog --example bench_serve
release=${CARGO_TARGET_DIR:-$PWD/target}/release
thv=$release/thv
"$release/examples/gen_catalog" "$count" "$work/catalog.json"
"$release/examples/bench_serve" "$work/catalog.json" > "$work/urls" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/urls" ] && break; sleep 0.1; done
read -r document_url api_url < "$work/urls"

measure() { # label, then the command; prints wall seconds, the sync's own time and peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out.json"
  read -r secs kib < "$work/time"
  printf '%-30s %6.3f s   %s   peak RSS %6.1f MB\n' "$label" "$secs" "$(python3 - "$work/out.json" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))[0]
units = {"h": 3600, "m": 60, "min": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
own = sum(float(n) * units[u] for n, u in re.findall(r"(\d+)\s*([a-zµ]+)", r["duration"]))
print(f"sync {own * 1000:7.1f} ms   {r['outcome']} {r['counts']['total']} server versions")
PY
)" "$(echo "$kib / 1024" | bc -l)"
}

servers=$(python3 -c 'import json,sys; print(len({r["server"]["name"] for r in json.load(open(sys.argv[1]))}))' "$work/catalog.json")
echo "catalog: $count server versions of $servers servers, $(du -h "$work/catalog.json" | cut -f1)"
case $database in
  '') echo "store: SQLite, a fresh file per source" ;;
  postgres)
    start_private_postgres "$work"
    echo "store: PostgreSQL, a private cluster ($("$THV_POSTGRES_BIN/postgres" --version), default durability)" ;;
  postgres://* | postgresql://*) echo "store: PostgreSQL, ${database%%\?*}" ;;
  *) echo "--database: postgres://… or postgres, not $database" >&2; exit 2 ;;
esac
for kind in url registry-api; do
  export THV_CONFIG=$work/$kind.yaml XDG_CACHE_HOME=$work/cache
  case $database in
    '') export THV_DATABASE=$work/$kind.db name=bench ;;
    postgres) export THV_DATABASE=$private_postgres_url name=bench-$kind ;;
    *) export THV_DATABASE=$database name=bench-$kind-$$ ;;
  esac
  if [ "$kind" = url ]; then source_flag=(--url "$document_url"); else source_flag=(--registry-api "$api_url"); fi
  "$thv" registry add "$name" "${source_flag[@]}" 2>/dev/null
  measure "$kind: full sync" "$thv" registry sync "$name" -o json
  for i in $(seq "$resyncs"); do
    measure "$kind: unchanged re-sync $i" "$thv" registry sync "$name" -o json
  done
  [ -z "$database" ] || "$thv" registry remove "$name" > /dev/null
done
