#!/usr/bin/env bash
# API-serving benchmark: the production dump (2,794 records) synced from a file source into a fresh database
# and served by `thv registry serve`, driven with wrk on loopback; then nginx serving the same response
# bytes as static files, driven the same way, as the yardstick.
# Prints, per URL, round and server: requests/s, p99 latency and CPU time per request (user + system of the
# server's processes, the figure least sensitive to what else the machine runs); for thv also its RSS
# (VmRSS and peak VmHWM after the load) and its requests/s as a share of nginx's in the same round. Targets
# (medians over the rounds): ≥ 75% of nginx's requests/s, p99 ≤ 5 ms, peak RSS ≤ 100 MB.
#   [BENCH_SECONDS=10] [BENCH_ROUNDS=3] [BENCH_SERVER=NAME] [BENCH_THV=PATH] bench/api.sh [FILE]
#       [--database postgres://USER@HOST/DB | --database postgres]
# BENCH_THV runs that `thv` binary instead of building this checkout's release one (to compare two builds,
# say with and without the `jemalloc` feature).
# The catalog is stored in a fresh SQLite file, or in PostgreSQL with --database: `postgres` starts a private
# cluster for the run (scripts/tools.sh); a URL names an existing database (password from PGPASSWORD,
# ~/.pgpass or THV_DATABASE_PASSWORD_FILE), where the registry `production-PID` is synced and removed again.
# Needs wrk and nginx (installed with apt-get when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
file=../shared/data/upstream/real/mcp-insights-servers.2025-12-18.json database=
while [ $# -gt 0 ]; do
  case $1 in
    --database) database=${2:?--database needs postgres://… or postgres}; shift 2 ;;
    --database=*) database=${1#--database=}; shift ;;
    -*) echo "usage: bench/api.sh [FILE] [--database postgres://USER@HOST/DB | --database postgres]" >&2; exit 2 ;;
    *) file=$1; shift ;;
  esac
done
file=$(realpath "$file")
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
server=${BENCH_SERVER:-io.github.brave/brave-search-mcp-server}  # 36 versions in the 2025-12-18 dump
cores=$(nproc)
work=$(mktemp -d)
cleanup() {
  set +e
  for pid in "${wrk_pid:-}" "${thv_pid:-}" "${nginx_pid:-}"; do
    [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
  done
  [ -z "$database" ] || [ -z "${thv_args:-}" ] || "$thv" "${thv_args[@]}" registry remove "$registry" > /dev/null
  stop_private_postgres
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

missing=()
command -v wrk > /dev/null || missing+=(wrk)
command -v nginx > /dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)

if [ -n "${BENCH_THV:-}" ]; then
  thv=$BENCH_THV
else
  cargo build --release --quiet --bin thv --locked
  target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  thv=$target/release/thv
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # URL LOG: waits up to 10 s for a 200, else shows the server's LOG
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  echo "no 200 from $1 after 10 s; $2:" >&2
  cat "$2" >&2
  return 1
}
fetch() { # URL FILE: the body into FILE; fails unless 200
  local code
  code=$(curl -sS -o "$2" -w '%{http_code}' "$1")
  [ "$code" = 200 ] || { echo "GET $1 answered $code" >&2; return 1; }
}

# --- thv: sync the dump into a fresh database, then serve it -------------------------------------------
export XDG_CACHE_HOME=$work/cache XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
case $database in
  '') registry=production store="SQLite" ;;
  postgres)
    start_private_postgres "$work"
    export THV_DATABASE=$private_postgres_url
    registry=production store="PostgreSQL, a private cluster ($("$THV_POSTGRES_BIN/postgres" --version))" ;;
  postgres://* | postgresql://*) export THV_DATABASE=$database registry=production-$$ store="PostgreSQL, ${database%%\?*}" ;;
  *) echo "--database: postgres://… or postgres, not $database" >&2; exit 2 ;;
esac
cat > "$work/registries.yaml" << EOF
registries:
  - name: $registry
    source:
      file:
        path: '$file'
    syncPolicy:
      enabled: false
EOF
thv_args=(--config "$work/registries.yaml")
[ -n "$database" ] || thv_args+=(--database "$work/registry.db")
"$thv" "${thv_args[@]}" registry sync "$registry" -o json > "$work/sync.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]
print("synced", sys.argv[2] + ":", r["outcome"], r["counts"]["total"], "versions in", r["duration"], "into", sys.argv[3])' \
  "$work/sync.json" "$(basename "$file")" "$store"
thv_port=$(free_port)
"$thv" "${thv_args[@]}" registry serve --listen "127.0.0.1:$thv_port" 2> "$work/serve.log" &
thv_pid=$!
wait_for "http://127.0.0.1:$thv_port/readyz" "$work/serve.log"

encoded=${server//\//%2F}
paths=("/v0.1/servers?limit=30" "/v0.1/servers/$encoded/versions/latest")
labels=(list latest)  # also the names of the static files
mkdir -p "$work/www"
chmod a+rx "$work" "$work/www"  # nginx workers run as another user
for i in 0 1; do fetch "http://127.0.0.1:$thv_port${paths[$i]}" "$work/www/${labels[$i]}.json"; done

# --- nginx: the same bytes as static files at the same paths ------------------------------------------
# nginx matches locations against the decoded path, so the `%2F` URL is the exact location with `/`.
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs"
# Debian's shipped /etc/nginx/nginx.conf (nginx's defaults plus sendfile, tcp_nopush, an access log and gzip),
# with worker_processes = cores ("auto" there), and paths moved into the temporary folder so that it runs
# unprivileged; nothing is tuned for the benchmark (keepalive_requests stays 1000, the access log is on, as
# thv's request log is). The two locations serve the same bytes thv serves at the same URLs.
cat > "$work/nginx/nginx.conf" << EOF
worker_processes $cores;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 768; }
http {
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  types { application/json json; }
  default_type application/octet-stream;
  access_log $work/nginx/logs/access.log;
  gzip on;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location = /v0.1/servers { try_files /list.json =404; }
    location = /v0.1/servers/$server/versions/latest { try_files /latest.json =404; }
    location / { return 404; }
  }
}
EOF
"$nginx" -p "$work/nginx" -e "$work/nginx/logs/error.log" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
wait_for "http://127.0.0.1:$nginx_port/v0.1/servers" "$work/nginx/logs/error.log"
read -ra nginx_workers < <(ps --ppid "$nginx_pid" -o pid= | paste -sd' ')
for i in 0 1; do
  fetch "http://127.0.0.1:$nginx_port${paths[$i]}" "$work/nginx-$i.json"
  cmp -s "$work/www/${labels[$i]}.json" "$work/nginx-$i.json" ||
    { echo "nginx bytes differ for ${paths[$i]}" >&2; exit 1; }
done

# --- load ----------------------------------------------------------------------------------------------
# Runs wrk against URL while measuring the CPU time of PIDS; sets rps, p99 (ms) and cpu (µs per request, user +
# system, which unlike req/s does not depend on what else the machine runs); warns on errors or non-2xx answers.
drive() {
  local url=$1; shift
  local before; before=$(cpu_ticks "$@")
  wrk -t2 -c64 -d"${seconds}s" --latency "$url" > "$work/wrk.txt" &  # in the background, so Ctrl-C stops us at once
  wrk_pid=$!
  wait "$wrk_pid"
  wrk_pid=
  local ticks=$(($(cpu_ticks "$@") - before))
  cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" '/ requests in / {printf "%.1f", t / hz * 1e6 / $1}' \
    "$work/wrk.txt")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" { v = $2
    if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0
    else if (v ~ /m$/) print v * 60000; else print v * 1000
  }' "$work/wrk.txt")
  if grep -qE 'Non-2xx|Socket errors' "$work/wrk.txt"; then
    echo "warning: $url: $(grep -E 'Non-2xx|Socket errors' "$work/wrk.txt" | tr -s ' ' | paste -sd ';')" >&2
  fi
}
# PIDS: their user + system clock ticks so far.
cpu_ticks() { printf '/proc/%s/stat\n' "$@" | xargs cat | awk '{t += $14 + $15} END {print t}'; }
mark() { awk "BEGIN { print ($1) ? \"PASS\" : \"MISS\" }"; }  # an awk condition
mb_of() { awk -v k="$1:" '$1 == k {printf "%.1f", $2 / 1024}' "/proc/$thv_pid/status"; }  # VmRSS or VmHWM

median() { tr -s ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "load: wrk -t2 -c64 -d${seconds}s --latency, $rounds rounds of thv then nginx per URL; $cores cores shared by" \
  "wrk, the servers and whatever else runs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "thv RSS before load: $(mb_of VmRSS) MB (peak $(mb_of VmHWM) MB)"
for i in 0 1; do
  printf '%-7s %s (%s bytes)\n' "${labels[$i]}:" "${paths[$i]}" "$(stat -c %s "$work/www/${labels[$i]}.json")"
done
echo
printf '%-7s %5s %-6s %10s %9s %11s %8s %8s %10s\n' URL round server 'req/s' 'p99 ms' 'CPU us/req' 'RSS MB' 'peak MB' \
  'thv/nginx'
declare -A ratios p99s cpus nginx_cpus
for round in $(seq "$rounds"); do
  for i in 0 1; do
    drive "http://127.0.0.1:$thv_port${paths[$i]}" "$thv_pid"
    thv_rps=$rps thv_p99=$p99 thv_cpu=$cpu rss=$(mb_of VmRSS) hwm=$(mb_of VmHWM)
    drive "http://127.0.0.1:$nginx_port${paths[$i]}" "${nginx_workers[@]}"
    ratio=$(awk -v a="$thv_rps" -v b="$rps" 'BEGIN {printf "%.0f", 100 * a / b}')
    ratios[$i]+="$ratio " p99s[$i]+="$thv_p99 " cpus[$i]+="$thv_cpu " nginx_cpus[$i]+="$cpu "
    printf '%-7s %5s %-6s %10.0f %9.2f %11s %8s %8s %9s%%\n' \
      "${labels[$i]}" "$round" thv "$thv_rps" "$thv_p99" "$thv_cpu" "$rss" "$hwm" "$ratio"
    printf '%-7s %5s %-6s %10.0f %9.2f %11s\n' "" "$round" nginx "$rps" "$p99" "$cpu"
  done
done
echo
echo "targets (thv; medians over the rounds):"
for i in 0 1; do
  ratio=$(median <<< "${ratios[$i]}") p99=$(median <<< "${p99s[$i]}")
  printf '  %-7s req/s %4s%% of nginx (≥ 75%%) %s   p99 %6.2f ms (≤ 5 ms) %s   CPU %s us/req (nginx %s)\n' \
    "${labels[$i]}" "$ratio" "$(mark "$ratio >= 75")" "$p99" "$(mark "$p99 <= 5")" \
    "$(median <<< "${cpus[$i]}")" "$(median <<< "${nginx_cpus[$i]}")"
done
printf '  peak RSS %5s MB (≤ 100 MB) %s\n' "$(mb_of VmHWM)" "$(mark "$(mb_of VmHWM) <= 100")"
