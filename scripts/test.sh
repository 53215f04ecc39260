#!/usr/bin/env bash
# The test command (README): installs what the tests need, then runs the whole workspace suite.
#
# - The tests over real third-party data read ../shared/data; whenever it is beside the project they are
#   required to run (THV_REQUIRE_SHARED_DATA=1), so a broken path fails instead of skipping.
# - Tools the tests drive (git, promtool, the PostgreSQL server binaries) are installed with apt-get when
#   missing (as root, or with sudo); when one cannot be installed the script fails with the command that
#   would install it. The tests are then told the tools are there (THV_REQUIRE_TOOLS=1), so none of them
#   skips. The PostgreSQL tests start private clusters (initdb in a temporary directory, as the postgres
#   user when run as root); Debian's package may also start a system service, which the tests never use.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d ../shared/data ]; then
    export THV_REQUIRE_SHARED_DATA=1
fi

# shellcheck source=scripts/tools.sh
. scripts/tools.sh
require_tool git git
require_tool promtool prometheus
require_postgres
THV_POSTGRES_BIN=$(postgres_bin_dir)
export THV_POSTGRES_BIN THV_REQUIRE_TOOLS=1

exec cargo test --workspace --locked "$@"
