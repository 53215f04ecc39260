#!/usr/bin/env bash
# Sourced by the scripts under scripts/ and bench/: `require_tool COMMAND DEBIAN_PACKAGE` makes sure COMMAND
# runs, installing the Debian package with apt-get when it is missing (as root, or through sudo), and fails
# with the command that would install it when it cannot. `require_postgres` does the same for the
# PostgreSQL server binaries, which Debian keeps off PATH in /usr/lib/postgresql/<version>/bin.

# apt-get update runs at most once per script.
_thv_apt_updated=0

require_tool() {
    local command=$1 package=$2
    command -v "$command" >/dev/null 2>&1 && return 0
    _thv_apt_install "$command" "$package"
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "$0: installed $package, but $command still does not run" >&2
        exit 1
    fi
}

# The directory of initdb, postgres and pg_ctl: $THV_POSTGRES_BIN, else the newest
# /usr/lib/postgresql/<version>/bin, else the directory of an initdb on PATH. Prints nothing when none.
postgres_bin_dir() {
    local dir
    if [ -n "${THV_POSTGRES_BIN:-}" ]; then
        [ -x "$THV_POSTGRES_BIN/initdb" ] && echo "$THV_POSTGRES_BIN"
        return 0
    fi
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
    fi
}

# Makes sure the PostgreSQL server binaries exist (the tests start a private cluster with them; no
# service is started), installing Debian's `postgresql` package when they do not.
require_postgres() {
    [ -n "$(postgres_bin_dir)" ] && return 0
    _thv_apt_install initdb postgresql
    if [ -z "$(postgres_bin_dir)" ]; then
        echo "$0: installed postgresql, but no initdb was found in /usr/lib/postgresql/*/bin" >&2
        exit 1
    fi
}

_thv_apt_install() {
    local command=$1 package=$2 sudo=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "$0: $command is missing and cannot be installed without root;" \
                "install it with: sudo apt-get install --no-install-recommends $package" >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$0: $command is missing and this machine has no apt-get; install the package that" \
            "provides it ($package on Debian)" >&2
        exit 1
    fi
    echo "$0: installing $command (Debian package $package)" >&2
    if [ "$_thv_apt_updated" = 0 ]; then
        "${sudo[@]}" apt-get update -qq >&2 || true
        _thv_apt_updated=1
    fi
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >&2; then
        echo "$0: could not install $package, which provides $command" >&2
        exit 1
    fi
}

# `start_private_postgres DIR` starts a private PostgreSQL cluster (PostgreSQL's default durability, on a free
# loopback port, with a random password) for a benchmark and sets `private_postgres_url` to a fresh database's
# URL, password included (export it as THV_DATABASE; never pass it as --database, which refuses passwords).
# `stop_private_postgres` stops it and removes its files; call it from the script's EXIT trap. DIR holds the
# control pipe.
start_private_postgres() {
    local dir=$1 target
    require_postgres
    THV_POSTGRES_BIN=$(postgres_bin_dir)
    export THV_POSTGRES_BIN
    cargo build --quiet --locked -p thv-testdata --features postgres --example private_postgres
    target=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    mkfifo "$dir/postgres.stdin"
    "$target/debug/examples/private_postgres" < "$dir/postgres.stdin" > "$dir/postgres.url" &
    _thv_postgres_pid=$!
    exec {_thv_postgres_fd}> "$dir/postgres.stdin"  # held open: the cluster runs until it closes
    for _ in $(seq 600); do
        [ -s "$dir/postgres.url" ] && break
        kill -0 "$_thv_postgres_pid" 2> /dev/null || { echo "$0: the private PostgreSQL did not start" >&2; exit 1; }
        sleep 0.1
    done
    read -r private_postgres_url < "$dir/postgres.url"
    rm -f "$dir/postgres.url"
}

stop_private_postgres() {
    [ -n "${_thv_postgres_fd:-}" ] || return 0
    exec {_thv_postgres_fd}>&-
    wait "$_thv_postgres_pid" 2> /dev/null || true
    _thv_postgres_fd=
}
