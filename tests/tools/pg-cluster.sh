# A throwaway PostgreSQL cluster for scenarios and benchmarks (sourced):
# initdb and pg_ctl from Debian's postgresql package, trust authentication
# on 127.0.0.1 only, a socket directory of its own, the server's default
# durability. initdb refuses root, so as root the cluster belongs to nobody.
#   pg_cluster_init DIR USER      make DIR/data (DIR must exist)
#   pg_cluster_start DIR PORT     start it on 127.0.0.1:PORT, wait until ready
#   pg_cluster_stop DIR [MODE]    stop it (MODE: fast, immediate; default fast)
#   pg_cluster_psql DIR PORT USER SQL   run one statement, print the rows
#   pg_cluster_pid DIR            the postmaster's pid (benchmarks pin it)
# Each prints the server's log and returns non-zero when it fails.

# The directory of initdb and pg_ctl: MWG_TEST_PG_BINDIR (as store_pg_test
# reads it), else Debian's newest /usr/lib/postgresql/N/bin.
pg_cluster_bindir() {
	local initdb
	if [ -n "${MWG_TEST_PG_BINDIR:-}" ]; then
		initdb=$MWG_TEST_PG_BINDIR/initdb
		[ -x "$initdb" ] || initdb=
	else
		initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
	fi
	[ -n "$initdb" ] || { echo "pg-cluster: no initdb (deploy/deps.sh test installs postgresql)" >&2; return 1; }
	dirname "$initdb"
}

pg_cluster_as() {	# command...: as nobody when root
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg_cluster_init() {	# DIR USER
	local bin
	bin=$(pg_cluster_bindir) || return 1
	[ "$(id -u)" -ne 0 ] || { chmod 0755 "$1"; chown nobody "$1"; }
	pg_cluster_as "$bin/initdb" -D "$1/data" -A trust -U "$2" -E UTF8 \
		--locale=C.UTF-8 >"$1/initdb.log" 2>&1 ||
		{ cat "$1/initdb.log" >&2; return 1; }
}

pg_cluster_start() {	# DIR PORT
	local bin
	bin=$(pg_cluster_bindir) || return 1
	pg_cluster_as "$bin/pg_ctl" -D "$1/data" -l "$1/log" -w -t 60 -s \
		-o "-k $1 -c listen_addresses=127.0.0.1 -p $2" start ||
		{ cat "$1/log" >&2; return 1; }
}

pg_cluster_stop() {	# DIR [MODE]
	local bin
	bin=$(pg_cluster_bindir) || return 1
	[ -f "$1/data/postmaster.pid" ] || return 0
	pg_cluster_as "$bin/pg_ctl" -D "$1/data" -w -s -m "${2:-fast}" stop >/dev/null 2>&1 ||
		{ cat "$1/log" >&2; return 1; }
}

pg_cluster_psql() {	# DIR PORT USER SQL
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$2" -U "$3" \
		-d postgres -c "$4"
}

pg_cluster_pid() {	# DIR: the first line of postmaster.pid
	[ -f "$1/data/postmaster.pid" ] || { echo "pg-cluster: $1 is not running" >&2; return 1; }
	head -n 1 "$1/data/postmaster.pid"
}
