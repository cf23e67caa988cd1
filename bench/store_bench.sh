#!/usr/bin/env bash
# State store operations per second, SQLite against PostgreSQL, on this
# machine: bench/store_bench (built by make) on a state dir of its own, then
# on a throwaway PostgreSQL cluster (tests/tools/pg-cluster.sh: initdb and
# pg_ctl, as nobody when run as root, 127.0.0.1, MWG_BENCH_PG_PORT or
# 55450) with the server's default durability (fsync on,
# synchronous_commit on), as SQLite runs with synchronous=FULL. Both data
# directories are on the same file system (under TMPDIR). Everything it
# starts is stopped and removed at exit.
#   bench/store_bench.sh BUILD_DIR [-n OPS] [-t THREADS]
set -eu
BUILD=${1:?usage: bench/store_bench.sh BUILD_DIR [-n OPS] [-t THREADS]}
shift
BENCH=$BUILD/bin/store_bench
[ -x "$BENCH" ] || { echo "store_bench: $BENCH is missing (make)" >&2; exit 1; }
. "$(dirname "$0")/../tests/tools/pg-cluster.sh"
PGBIN=$(pg_cluster_bindir)
PORT=${MWG_BENCH_PG_PORT:-55450}

T=$(mktemp -d "${TMPDIR:-/tmp}/mwg-store-bench-XXXXXX")
chmod 0755 "$T"
mkdir -m 0700 "$T/sqlite" "$T/pg-state" "$T/pg"
cleanup() {
	pg_cluster_stop "$T/pg" immediate || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

pg_cluster_init "$T/pg" mwgbench
pg_cluster_start "$T/pg" "$PORT"

echo "# store_bench $* on $(uname -r), $(nproc) CPUs; $(df -h "$T" | awk 'NR==2{print $1}')"
echo "# sqlite: $(pkg-config --modversion sqlite3), WAL, synchronous=FULL"
"$BENCH" "$@" "$T/sqlite"
echo "# postgresql: $("$PGBIN/postgres" --version | awk '{print $3}'), 127.0.0.1 TCP, fsync on, synchronous_commit on"
"$BENCH" "$@" "$T/pg-state" "host=127.0.0.1 port=$PORT user=mwgbench dbname=postgres"
