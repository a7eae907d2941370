#!/usr/bin/env bash
# Reproduces bench/RESULTS.md: builds the release binary, installs wrk if it is missing, seeds a
# fresh database, starts the server and drives it. Options go to bench/bench.py, for example
#   bench/run.sh                       # PostgreSQL at 127.0.0.1:5432, scale 10
#   bench/run.sh --database sqlite --scale 1 --output bench/RESULTS-sqlite.md
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "[bench] installing wrk" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else sudo apt-get install -y -q wrk >/dev/null; fi
fi
command -v psql >/dev/null || { echo "[bench] psql is needed (Debian package postgresql-client)" >&2; exit 1; }

cargo build --release --locked --quiet
exec python3 bench/bench.py "$@"
