#!/usr/bin/env bash
# Soak test: `thv registry serve` under mixed reads for SECONDS while its catalog keeps changing. The
# production dump (2,794 records) is served from a file source synced every second; a writer changes one
# record's description every few seconds and waits until the scheduler has synced the change and swapped the
# new snapshot in (thv_snapshot_swaps_total) before making the next. Meanwhile wrk runs bench/soak.lua: list
# pages following their cursors, single and latest versions, version lists and searches, half of them with
# gzip, repeats with If-None-Match.
# Prints requests, errors (answers other than 2xx/304, and socket errors), p50/p99/max latency, the
# server's RSS after a warm-up, halfway and at the end, and the catalog changes written and swapped in.
# Fails (exit 1) on any error, on a change not swapped in within 30 s, on RSS growth in the second half
# above SOAK_MAX_RSS_GROWTH_MB (the first minutes still fill the allocator's pools and the page caches; a leak
# keeps growing), or when the server does not exit within SOAK_EXIT_WITHIN seconds of SIGTERM (then gdb's
# backtraces of its threads are printed, when gdb is installed, and it is killed).
#   [SOAK_PROFILE=release|debug] [SOAK_CONNECTIONS=32] [SOAK_CHANGE_EVERY=3] [SOAK_MAX_RSS_GROWTH_MB=8] \
#   [SOAK_EXIT_WITHIN=20] [SOAK_LOG=warn] [SOAK_KEEP=1] [SOAK_CATALOG=FILE] bench/soak.sh [SECONDS]  (default 600)
# SOAK_LOG is the server's THV_LOG; SOAK_KEEP keeps the work directory (catalog, database, server log).
# Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
profile=${SOAK_PROFILE:-release}
connections=${SOAK_CONNECTIONS:-32}
change_every=${SOAK_CHANGE_EVERY:-3}
max_growth=${SOAK_MAX_RSS_GROWTH_MB:-8}
exit_within=${SOAK_EXIT_WITHIN:-20}
catalog=$(realpath "${SOAK_CATALOG:-../shared/data/upstream/real/mcp-insights-servers.2025-12-18.json}")
warmup=$((seconds / 4 < 30 ? seconds / 4 : 30))
work=$(mktemp -d)
# Sends SIGTERM to PID and waits up to SECONDS for it to exit; fails when it is still running.
stop_within() { # PID SECONDS
  kill -TERM "$1" 2> /dev/null || return 0
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2> /dev/null || { wait "$1" 2> /dev/null; return 0; }
    sleep 0.1
  done
  return 1
}
cleanup() {
  set +e
  for pid in "${wrk_pid:-}" "${writer_pid:-}" "${thv_pid:-}"; do
    [ -n "$pid" ] && { stop_within "$pid" 5 || kill -KILL "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; }
  done
  if [ -n "${SOAK_KEEP:-}" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

for tool in wrk curl python3; do
  command -v "$tool" > /dev/null || { echo "bench/soak.sh needs $tool" >&2; exit 2; }
done
[ -f "$catalog" ] || { echo "no catalog at $catalog (set SOAK_CATALOG)" >&2; exit 2; }
if [ "$profile" = release ]; then
  cargo build --release --quiet --locked -p thv-cli --bin thv
else
  cargo build --quiet --locked -p thv-cli --bin thv
fi
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
thv=$target/$profile/thv

# The catalog the server syncs (a copy, which the writer changes), and the paths wrk asks for.
python3 - "$catalog" "$work" << 'PY'
import json, sys, urllib.parse
records = json.load(open(sys.argv[1], encoding="utf-8-sig"))
json.dump(records, open(f"{sys.argv[2]}/catalog.json", "w"))
quote = lambda text: urllib.parse.quote(text, safe="")
paths = []
for record in records[:: max(1, len(records) // 150)]:
    name, version = record["server"]["name"], record["server"]["version"]
    paths.append(f"/v0.1/servers/{quote(name)}/versions/{quote(version)}")
    paths.append(f"/v0.1/servers/{quote(name)}/versions/latest")
for record in records[:: max(1, len(records) // 20)]:
    paths.append(f"/v0.1/servers/{quote(record['server']['name'])}/versions")
for term in ["github", "postgres", "search", "weather", "slack", "kubernetes", "file", "browser"]:
    paths.append(f"/v0.1/servers?search={term}&limit=20")
paths += ["/v0.1/servers?limit=30", "/v0.1/servers?version=latest&limit=50", "/registry/soak/v0.1/servers?limit=10"]
open(f"{sys.argv[2]}/paths.txt", "w").write("\n".join(paths) + "\n")
print(f"{len(records)} records from {sys.argv[1].rsplit('/', 1)[-1]}; {len(paths)} paths besides the list pages")
PY

export XDG_CACHE_HOME=$work/cache XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
printf 'registries:\n  - name: soak\n    source:\n      file:\n        path: %s\n    syncPolicy:\n      interval: 1s\n' \
  "'$work/catalog.json'" > "$work/registries.yaml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
THV_LOG=${SOAK_LOG:-warn} "$thv" --config "$work/registries.yaml" --database "$work/registry.db" registry serve \
  --listen "127.0.0.1:$port" --token-file "$work/tokens" 2> "$work/serve.log" &
thv_pid=$!
metric() { curl -sf "$base/metrics" | awk -v name="$1" '$1 == name {print $2}' || true; }
servers=
for _ in $(seq 600); do
  servers=$(metric 'thv_registry_servers{registry="soak"}')
  [ -n "$servers" ] && [ "$servers" != 0 ] && break
  kill -0 "$thv_pid" 2> /dev/null || { cat "$work/serve.log" >&2; echo "thv registry serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$servers" ] && [ "$servers" != 0 ] ||
  { cat "$work/serve.log" >&2; echo "the first sync did not finish within 60 s" >&2; exit 1; }
echo "serving $servers server versions"
rss_mb() { awk '$1 == "VmRSS:" {printf "%.1f", $2 / 1024}' "/proc/$thv_pid/status"; }

swaps_before=$(metric thv_snapshot_swaps_total)
# The writer: one change at a time, each waited for until it is swapped in; prints its counts on SIGTERM.
python3 - "$work/catalog.json" "$base/metrics" "$change_every" > "$work/writer.txt" 2>&1 << 'PY' &
import json, os, signal, sys, time, urllib.request
path, metrics, every = sys.argv[1], sys.argv[2], float(sys.argv[3])
records = json.load(open(path))
changes, swapped, missed, slowest = 0, 0, 0, 0.0
def report(*_):
    print(f"writer changes {changes}\nwriter swapped {swapped}\nwriter missed {missed}\nwriter slowest_s {slowest:.2f}")
    sys.exit(0)
signal.signal(signal.SIGTERM, report)
def swaps():
    for line in urllib.request.urlopen(metrics, timeout=5).read().decode().splitlines():
        if line.startswith("thv_snapshot_swaps_total "):
            return float(line.split()[1])
    raise SystemExit("no thv_snapshot_swaps_total in /metrics")
while True:
    before = swaps()
    record = records[changes % len(records)]["server"]
    record["description"] = f"{record.get('description', '')} (soak change {changes})"[-500:]
    with open(path + ".tmp", "w") as out:
        json.dump(records, out)
    os.replace(path + ".tmp", path)
    changes += 1
    written = time.monotonic()
    while swaps() <= before and time.monotonic() - written < 30:
        time.sleep(0.05)
    if swaps() > before:
        swapped += 1
        slowest = max(slowest, time.monotonic() - written)
    else:
        missed += 1
    time.sleep(every)
PY
writer_pid=$!

run_wrk() { # SECONDS OUT: runs wrk, and samples the RSS halfway (rss_mid)
  SOAK_PATHS=$work/paths.txt wrk -t2 -c"$connections" -d"$1s" --timeout 5s -s bench/soak.lua "$base" > "$2" \
    2> "$2.err" &
  wrk_pid=$!
  sleep $(($1 / 2))
  rss_mid=$(rss_mb)
  wait "$wrk_pid" || { cat "$2" "$2.err" >&2; echo "wrk failed" >&2; exit 1; }
  wrk_pid=
}
echo "load: wrk -t2 -c$connections, a ${warmup}s warm-up then ${seconds}s; $profile build; $(nproc) cores shared;" \
  "a catalog change every ${change_every}s, synced every 1s; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run_wrk "$warmup" "$work/warmup.txt"
rss_start=$(rss_mb)
run_wrk "$seconds" "$work/wrk.txt"
rss_end=$(rss_mb)
kill -TERM "$writer_pid"
wait "$writer_pid" || true
writer_pid=
swaps=$(awk -v a="$swaps_before" -v b="$(metric thv_snapshot_swaps_total)" 'BEGIN {print b - a}')
value() { awk -v k="$2" '($1 == "soak" || $1 == "writer") && $2 == k {print $3}' "$1"; }
cat "$work/wrk.txt.err" >&2
requests=$(value "$work/wrk.txt" requests) other=$(value "$work/wrk.txt" answers_other)
socket=$(value "$work/wrk.txt" socket_errors)
[ -n "$requests" ] || { cat "$work/wrk.txt" >&2; echo "wrk printed no summary" >&2; exit 1; }
errors=$((other + socket))
changes=$(value "$work/writer.txt" changes) missed=$(value "$work/writer.txt" missed)
[ -n "$changes" ] || { cat "$work/writer.txt" >&2; echo "the writer printed no counts" >&2; exit 1; }
growth=$(awk -v a="$rss_mid" -v b="$rss_end" 'BEGIN {printf "%.1f", b - a}')
printf 'requests  %s (%.0f/s; 2xx %s, 304 %s; %s list pages)\n' "$requests" \
  "$(awk -v r="$requests" -v s="$seconds" 'BEGIN {print r / s}')" "$(value "$work/wrk.txt" answers_2xx)" \
  "$(value "$work/wrk.txt" answers_304)" "$(value "$work/wrk.txt" list_pages)"
printf 'errors    %s (other answers %s; socket errors %s: %s)\n' "$errors" "$other" "$socket" \
  "$(value "$work/wrk.txt" socket_errors_detail)"
printf 'latency   p50 %s ms, p99 %s ms, max %s ms\n' "$(value "$work/wrk.txt" p50_ms)" \
  "$(value "$work/wrk.txt" p99_ms)" "$(value "$work/wrk.txt" max_ms)"
printf 'RSS       %s MB after the warm-up, %s MB halfway, %s MB at the end (second half %+.1f MB; bound +%s MB)\n' \
  "$rss_start" "$rss_mid" "$rss_end" "$growth" "$max_growth"
printf 'swaps     %s snapshot swaps; %s catalog changes written (warm-up included), %s swapped in, %s not within 30 s (slowest %s s)\n' \
  "$swaps" "$changes" "$(value "$work/writer.txt" swapped)" "$missed" "$(value "$work/writer.txt" slowest_s)"
failed=0
[ "$errors" = 0 ] || { echo "FAIL: $errors errors" >&2; failed=1; }
{ [ "$missed" = 0 ] && [ "$changes" -gt 0 ]; } || { echo "FAIL: $missed of $changes changes not swapped in" >&2; failed=1; }
awk -v g="$growth" -v m="$max_growth" 'BEGIN {exit !(g <= m)}' ||
  { echo "FAIL: RSS grew by $growth MB in the second half (bound $max_growth MB)" >&2; failed=1; }
if ! kill -0 "$thv_pid" 2> /dev/null; then
  echo "FAIL: the server exited" >&2
  failed=1
elif ! stop_within "$thv_pid" "$exit_within"; then
  echo "FAIL: the server did not exit within ${exit_within} s of SIGTERM" >&2
  if command -v gdb > /dev/null; then
    echo "its threads:" >&2
    gdb -p "$thv_pid" -batch -ex 'thread apply all bt 30' 2>&1 | grep -E '^(Thread|#)' | head -300 >&2
  fi
  failed=1
else
  thv_pid=
fi
if [ -s "$work/serve.log" ]; then
  echo "server warnings and errors (first 20 lines):" >&2
  head -20 "$work/serve.log" >&2
fi
[ "$failed" = 0 ] && echo "PASS"
exit "$failed"
