#!/usr/bin/env bash
# Memory benchmark of the API's snapshot: syncs a synthetic catalog of COUNT server versions (default 25,000,
# bench/sync.sh's generator) into a fresh SQLite database, then loads it as `thv registry serve` does, twice
# (a reload builds the new snapshot beside the served one), counting live heap bytes with a wrapping
# allocator (crates/api/examples/snapshot_memory.rs). Prints the live and peak heap of each stage and the
# bytes of each component of the snapshot; then starts `thv registry serve` on the same database and prints
# its RSS once ready and after RELOADS commits it reloads (default 5). Target: RSS ≤ 100 MB.
#   bench/memory.sh [--count N] [--reloads N]
set -euo pipefail
cd "$(dirname "$0")/.."
count=25000 reloads=5
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=${2:?}; shift 2 ;;
    --reloads) reloads=${2:?}; shift 2 ;;
    *) echo "usage: bench/memory.sh [--count N] [--reloads N]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
cleanup() {
  kill "${serve_pid:-0}" 2> /dev/null && wait "${serve_pid:-0}" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --locked -p thv-cli --bin thv
cargo build --release --quiet --locked -p thv-sync --example gen_catalog
cargo build --release --quiet --locked -p thv-api --example snapshot_memory
release=${CARGO_TARGET_DIR:-$PWD/target}/release
thv=$release/thv
"$release/examples/gen_catalog" "$count" "$work/catalog.json"
export THV_CONFIG=$work/registries.yaml THV_DATABASE=$work/registry.db THV_TOKEN_FILE=$work/tokens \
  XDG_CACHE_HOME=$work/cache
cat > "$THV_CONFIG" << EOF
registries:
  - name: bench
    source:
      file:
        path: '$work/catalog.json'
    syncPolicy:
      enabled: false
EOF
"$thv" registry sync bench -o json > /dev/null
echo "catalog: $count server versions, $(du -h "$work/catalog.json" | cut -f1) of JSON"
echo "-- live heap (counted by the allocator) --"
"$release/examples/snapshot_memory" "$THV_DATABASE" bench

rss() { awk '$1 == "VmRSS:" {rss = $2} $1 == "VmHWM:" {hwm = $2} $1 == "RssAnon:" {anon = $2} $1 == "RssFile:" {file = $2}
  END {printf "RSS %.1f MB (anonymous %.1f, files %.1f), peak %.1f MB", rss / 1024, anon / 1024, file / 1024, hwm / 1024}' "/proc/$1/status"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "-- thv registry serve --"
"$thv" registry serve --listen "127.0.0.1:$port" --catalog-poll-interval 200ms 2> "$work/serve.log" &
serve_pid=$!
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
  sleep 0.1
done
echo "ready: $(rss "$serve_pid")"
for i in $(seq "$reloads"); do
  # A changed document makes each sync commit; the server sees the new catalog version within 200 ms and
  # reloads.
  python3 - "$work/catalog.json" "$i" << 'EOF'
import json, sys
records = json.load(open(sys.argv[1]))
records[0]["server"]["description"] = f"reload {sys.argv[2]}"
json.dump(records, open(sys.argv[1], "w"))
EOF
  "$thv" registry sync bench -o json > /dev/null
  sleep 1.5
done
echo "after $reloads syncs and reloads: $(rss "$serve_pid") (target ≤ 100 MB)"
