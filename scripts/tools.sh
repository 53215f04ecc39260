#!/usr/bin/env bash
# Sourced by the scripts under scripts/ and bench/: `require_tool COMMAND DEBIAN_PACKAGE` makes sure COMMAND
# runs, installing the Debian package with apt-get when it is missing (as root, or through sudo), and fails
# with the command that would install it when it cannot.

# apt-get update runs at most once per script.
_thv_apt_updated=0

require_tool() {
    local command=$1 package=$2 sudo=()
    command -v "$command" >/dev/null 2>&1 && return 0
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
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >&2 \
        || ! command -v "$command" >/dev/null 2>&1; then
        echo "$0: could not install $package, which provides $command" >&2
        exit 1
    fi
}
