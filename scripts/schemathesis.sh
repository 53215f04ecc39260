#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document with Schemathesis: builds `thv`, syncs
# examples/registries.yaml into a temporary database, serves it on loopback and runs `st run` on
# /openapi.json with the checks for server errors, response schemas, status codes and content types.
# Exits non-zero when a check fails. Bounded to a few minutes (THV_ST_MAX_EXAMPLES per operation).
#
# Environment: THV_ST_MAX_EXAMPLES (default 100), THV_ST_PORT (default: a free port), THV_ST_VENV (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/thv-registry/schemathesis-$VERSION), CARGO_TARGET_DIR (default target).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly SCHEMATHESIS_VERSION=4.32.5
max_examples=${THV_ST_MAX_EXAMPLES:-100}
venv=${THV_ST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/thv-registry/schemathesis-$SCHEMATHESIS_VERSION}
target=${CARGO_TARGET_DIR:-target}
started=$(date +%s)

# A virtual environment with the pinned Schemathesis, made once.
if [[ ! -x "$venv/bin/st" ]]; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "== building thv"
cargo build --locked --quiet -p thv-cli --bin thv
thv=$target/debug/thv

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== syncing examples/registries.yaml"
"$thv" --config examples/registries.yaml --database "$work/db.sqlite" registry sync --all >/dev/null
"$thv" --config examples/registries.yaml --database "$work/db.sqlite" registry list -o json >"$work/registries.json"

port=${THV_ST_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
base=http://127.0.0.1:$port
# A write token, so that the sync endpoint is exercised past its 401.
token=$("$thv" registry token create schemathesis --scope write --token-file "$work/tokens" 2>/dev/null)
"$thv" --config examples/registries.yaml --database "$work/db.sqlite" registry serve --listen "127.0.0.1:$port" \
    --token-file "$work/tokens" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/serve.log" >&2
        echo "thv registry serve exited" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

# Two runs: one with every parameter generated (mostly unknown names: 404s, 400s, 422s), one with the path
# parameters fixed to a real registry, server name and `latest` (Schemathesis 4.32.5's `dictionaries` did not
# reach path parameters when tried), so that the 200 bodies of real records are checked too.
python3 - "$base" "$work/registries.json" >"$work/real.toml" <<'PY'
import json, sys, urllib.request
# `path.name` is the server of /api/v1/servers/{name}; `path.registry` every registry parameter.

base, registries = sys.argv[1], sys.argv[2]
with open(registries) as file:
    registry = json.load(file)[0]["name"]
with urllib.request.urlopen(f"{base}/registry/{registry}/v0.1/servers?limit=1") as reply:
    name = json.load(reply)["servers"][0]["server"]["name"]
print("[parameters]")
print(f'"path.registry" = {json.dumps(registry)}')
print(f'"path.serverName" = {json.dumps(name)}')
print(f'"path.name" = {json.dumps(name)}')
print('"path.version" = "latest"')
PY
: >"$work/generated.toml"

status=0
for run in generated real; do
    echo "== schemathesis ($run path parameters) on $base/openapi.json, max $max_examples examples per operation"
    # From the temporary folder: Schemathesis keeps a cache (.schemathesis/) in the working directory.
    (cd "$work" && "$venv/bin/st" --config-file "$work/$run.toml" --no-color run "$base/openapi.json" \
        --url "$base" \
        --header "Authorization: Bearer $token" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --max-examples "$max_examples" \
        --exclude-path /metrics \
        --seed 1 \
        --workers 2) \
        || status=$?
done

echo "== schemathesis: exit $status after $(($(date +%s) - started)) s"
exit "$status"
