#!/usr/bin/env bash
# Replica catch-up benchmark: REPLICAS `thv registry serve` processes (default 3) on one PostgreSQL database
# serving a synthetic catalog of COUNT server versions (default 25,000, bench/sync.sh's generator). Each of
# ROUNDS rounds (default 10) adds one server to the source file and commits it with `thv registry sync` from
# another process, then measures when each replica first serves the new server (polled every 5 ms). The
# replicas' own syncing is off: what is measured is how fast a commit reaches every replica (the commit
# notification, then the reload of the whole catalog).
# Prints, per round, the sync's duration and each replica's lag; then p50, p99 (nearest rank) and the maximum
# of all lags, and each replica's RSS (VmRSS, peak VmHWM) at the end. A lag is counted from the moment the
# sync command exits, which is a few milliseconds after its commit; a negative lag means the replica served
# the new catalog before the command had exited. Targets: p99 ≤ 2 s, peak RSS ≤ 100 MB.
#   bench/replicas.sh [--count N] [--replicas N] [--rounds N] [--database postgres://USER@HOST/DB | postgres]
# Default --database postgres: a private cluster for the run (PostgreSQL's default durability, see
# scripts/tools.sh). A URL names an existing database (password from PGPASSWORD, ~/.pgpass or
# THV_DATABASE_PASSWORD_FILE), where the registry `catchup-PID` is synced and removed again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
count=25000 replicas=3 rounds=10 database=postgres
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=${2:?}; shift 2 ;;
    --replicas) replicas=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --database) database=${2:?--database needs postgres://… or postgres}; shift 2 ;;
    --database=*) database=${1#--database=}; shift ;;
    *) echo "usage: bench/replicas.sh [--count N] [--replicas N] [--rounds N] [--database URL|postgres]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null; done
  [ "$database" = postgres ] || [ -z "${registry:-}" ] || "$thv" registry remove "$registry" > /dev/null 2>&1
  stop_private_postgres
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

cargo build --release --quiet --locked -p thv-cli --bin thv
cargo build --release --quiet --locked -p thv-sync --example gen_catalog
release=${CARGO_TARGET_DIR:-$PWD/target}/release
thv=$release/thv
case $database in
  postgres)
    start_private_postgres "$work"
    export THV_DATABASE=$private_postgres_url
    registry=catchup
    echo "store: PostgreSQL, a private cluster ($("$THV_POSTGRES_BIN/postgres" --version), default durability)" ;;
  postgres://* | postgresql://*)
    export THV_DATABASE=$database
    registry=catchup-$$
    echo "store: PostgreSQL, ${database%%\?*}" ;;
  *) echo "--database: postgres://… or postgres, not $database" >&2; exit 2 ;;
esac
"$release/examples/gen_catalog" "$count" "$work/catalog.json"
export THV_CONFIG=$work/registries.yaml THV_TOKEN_FILE=$work/tokens XDG_CACHE_HOME=$work/cache
cat > "$THV_CONFIG" << EOF
registries:
  - name: $registry
    source:
      file:
        path: '$work/catalog.json'
    syncPolicy:
      enabled: false
EOF
"$thv" registry sync "$registry" -o json > "$work/sync.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]
print("first sync:", r["outcome"], r["counts"]["total"], "versions in", r["duration"])' "$work/sync.json"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ports=()
for i in $(seq "$replicas"); do
  port=$(free_port)
  "$thv" registry serve --listen "127.0.0.1:$port" --replica-id "replica-$i" 2> "$work/replica-$i.log" &
  pids+=($!) ports+=("$port")
done
for i in $(seq "$replicas"); do
  port=${ports[$((i - 1))]}
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
    sleep 0.1
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] ||
    { echo "replica-$i is not ready after 30 s:" >&2; cat "$work/replica-$i.log" >&2; exit 1; }
done
echo "$replicas replicas ready; $rounds rounds of one added server each"

python3 - "$thv" "$registry" "$work/catalog.json" "$rounds" "${ports[@]}" << 'EOF'
import copy, json, math, subprocess, sys, threading, time, urllib.error, urllib.parse, urllib.request

thv, registry, catalog, rounds, ports = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
records = json.load(open(catalog))
template = records[0]

def first_served(port, path, served, deadline):
    """Polls the replica every 5 ms until `path` answers 200; stores the time it did."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
                if answer.status == 200:
                    served[port] = time.monotonic()
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.005)

lags = []
for n in range(rounds):
    marker = copy.deepcopy(template)
    name = f"io.github.bench-catchup/marker-{n:03}"
    marker["server"]["name"] = name
    records.append(marker)
    with open(catalog, "w") as f:
        json.dump(records, f)
    path = "/v0.1/servers/" + urllib.parse.quote(name, safe="") + "/versions/latest"
    served, deadline = {}, time.monotonic() + 60
    pollers = [threading.Thread(target=first_served, args=(p, path, served, deadline)) for p in ports]
    for t in pollers:
        t.start()
    out = subprocess.run([thv, "registry", "sync", registry, "-o", "json"], capture_output=True, text=True)
    exited = time.monotonic()
    if out.returncode != 0:
        sys.exit(f"thv registry sync failed: {out.stderr}")
    report = json.loads(out.stdout)[0]
    for t in pollers:
        t.join()
    missing = [p for p in ports if p not in served]
    if missing:
        sys.exit(f"round {n}: replicas on ports {missing} did not serve {name} within 60 s")
    round_lags = [served[p] - exited for p in ports]
    lags += round_lags
    print(f"round {n + 1:2}: sync {report['outcome']} in {report['duration']:>10}; lags "
          + " ".join(f"{l:6.3f} s" for l in round_lags))

lags.sort()
rank = lambda q: lags[max(0, math.ceil(q * len(lags)) - 1)]
p99 = rank(0.99)
print(f"catch-up over {len(lags)} lags: p50 {rank(0.5):.3f} s, p99 {p99:.3f} s, max {lags[-1]:.3f} s "
      f"(target p99 ≤ 2 s: {'PASS' if p99 <= 2 else 'MISS'})")
EOF

for i in $(seq "$replicas"); do
  pid=${pids[$((i - 1))]}
  awk -v r="replica-$i" '$1 == "VmRSS:" {rss = $2} $1 == "VmHWM:" {hwm = $2}
    END {printf "%s RSS %.1f MB, peak %.1f MB (target ≤ 100 MB: %s)\n", r, rss / 1024, hwm / 1024,
         hwm <= 102400 ? "PASS" : "MISS"}' "/proc/$pid/status"
done
