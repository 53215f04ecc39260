#!/usr/bin/env bash
# Sync benchmark: a synthetic catalog of COUNT server versions (default 10,000: 8,332 servers, every tenth
# with three versions) served over loopback, synced with `thv registry sync` from a URL source and from a
# registry-API source into a fresh SQLite database.
# Prints, per source: full sync time, unchanged re-sync time (wall clock of the whole command), the peak
# RSS of the `thv` process, and the versions and servers synced. Targets: full ≤ 3 s, unchanged ≤ 100 ms,
# peak RSS ≤ 100 MB.
#   bench/sync.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
work=$(mktemp -d)
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet -p thv-cli --bin thv
cargo build --release --quiet -p thv-sync --example gen_catalog --example bench_serve
release=${CARGO_TARGET_DIR:-$PWD/target}/release
thv=$release/thv
"$release/examples/gen_catalog" "$count" "$work/catalog.json"
"$release/examples/bench_serve" "$work/catalog.json" > "$work/urls" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/urls" ] && break; sleep 0.1; done
read -r document_url api_url < "$work/urls"

measure() { # label, then the command; prints wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out.json"
  read -r secs kib < "$work/time"
  printf '%-28s %6.3f s   peak RSS %6.1f MB   %s\n' "$label" "$secs" "$(echo "$kib / 1024" | bc -l)" \
    "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; print(r["outcome"], r["counts"]["total"], "server versions")' "$work/out.json")"
}

servers=$(python3 -c 'import json,sys; print(len({r["server"]["name"] for r in json.load(open(sys.argv[1]))}))' "$work/catalog.json")
echo "catalog: $count server versions of $servers servers, $(du -h "$work/catalog.json" | cut -f1)"
for kind in url registry-api; do
  export THV_CONFIG=$work/$kind.yaml THV_DATABASE=$work/$kind.db XDG_CACHE_HOME=$work/cache
  if [ "$kind" = url ]; then source_flag=(--url "$document_url"); else source_flag=(--registry-api "$api_url"); fi
  "$thv" registry add bench "${source_flag[@]}" 2>/dev/null
  measure "$kind: full sync" "$thv" registry sync bench -o json
  measure "$kind: unchanged re-sync" "$thv" registry sync bench -o json
done
