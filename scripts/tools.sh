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
