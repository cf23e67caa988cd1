#!/bin/bash
# bench/nodes.sh BUILD_DIR [PART...]: the numbers of several gateway nodes
# (issue 15, item 9), on this machine, all on 127.0.0.0/8. Parts:
#   store  logins/s and enrolments/s of a full mwgd (mutual TLS, PAM
#          through pam_wrapper, real TOTP codes, EST enrolment) on SQLite
#          and on PostgreSQL, NODES_CLIENTS curl processes in parallel,
#          back-ends interleaved over rounds, a fresh store each round
#   proxy  full handshakes/s into one node through HAProxy (TCP mode,
#          send-proxy-v2, deploy/haproxy.cfg) against straight to the node,
#          the same mwgd, the two ways interleaved over rounds
#   cut    how long a lock made on node A (127.0.0.2) takes to cut a live
#          tunnel held on node B (127.0.0.3), both on one PostgreSQL
# (default: all three). Server side (mwgd, PostgreSQL) on CPU 0, clients
# and HAProxy on CPU 1; mwgd and HAProxy each in a session of their own.
# Prints a report and writes it to bench/results/nodes.txt.
# Knobs (environment): NODES_PORT_BASE (23400; it uses base .. base+3),
# NODES_PEOPLE (400: logins and enrolments per round), NODES_CLIENTS (8),
# NODES_ROUNDS (3), NODES_HS_ROUNDS (5), NODES_HS_SECONDS (5),
# NODES_HS_CONC (32), NODES_CUT_TRIES (20), NODES_CUT_WAIT (5 s: a try
# without a cut by then is "no cut"), NODES_CUT_GIVEUP (3: stop after so
# many tries in a row without a cut), NODES_CUT_LOCK_ON (A; B locks on the
# tunnel's own node, the harness's control), BENCH_KEEP=1 keeps the
# scratch directory. Needs root (mwgd drops to nobody), haproxy, psql and
# Debian's postgresql (tests/tools/pg-cluster.sh).
set -u

usage() { echo "usage: bench/nodes.sh BUILD_DIR [store] [proxy] [cut]" >&2; exit 2; }
[ $# -ge 1 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$1/bin" 2>/dev/null && pwd) || { echo "nodes: no $1/bin (make BUILD=$1 all first)" >&2; exit 1; }
shift
PARTS=${*:-store proxy cut}
for p in $PARTS; do
	case $p in store | proxy | cut) ;; *) usage ;; esac
done
for tool in mwgd mwgctl mwg-testcert loadgen mwg-backend; do
	[ -x "$BIN/$tool" ] || { echo "nodes: $BIN/$tool missing" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "nodes: run as root (mwgd drops to nobody)" >&2; exit 1; }
for tool in curl openssl oathtool taskset pgrep haproxy psql python3 jq; do
	command -v "$tool" >/dev/null || { echo "nodes: $tool not installed" >&2; exit 1; }
done

PORT_BASE=${NODES_PORT_BASE:-23400}
NPEOPLE=${NODES_PEOPLE:-400}
CLIENTS=${NODES_CLIENTS:-8}
ROUNDS=${NODES_ROUNDS:-3}
HS_ROUNDS=${NODES_HS_ROUNDS:-5}
HS_SECONDS=${NODES_HS_SECONDS:-5}
HS_CONC=${NODES_HS_CONC:-32}
CUT_TRIES=${NODES_CUT_TRIES:-20}
CUT_WAIT=${NODES_CUT_WAIT:-5}
CUT_GIVEUP=${NODES_CUT_GIVEUP:-3}
CUT_LOCK_ON=${NODES_CUT_LOCK_ON:-A}
[ "$CUT_TRIES" -le "$NPEOPLE" ] || { echo "nodes: NODES_CUT_TRIES > NODES_PEOPLE (one person a try)" >&2; exit 2; }
P_GW=$PORT_BASE			# every node's TLS port, on its own address
P_ECHO=$((PORT_BASE + 1))
P_HAP=$((PORT_BASE + 2))	# HAProxy's frontend on 127.0.0.1
P_PG=$((PORT_BASE + 3))
HAP_SRC=127.0.0.5		# HAProxy's address towards the node
PRACTICE=K84001
GW_CPU=0
LG_CPU=1
[ "$(nproc)" -lt 2 ] && LG_CPU=0
# shellcheck disable=SC2034 # read by lib.sh
START_TIMEOUT=20
# shellcheck disable=SC2034 # read by lib.sh
BENCH_LOG_PREFIX=nodes
. "$HERE/lib.sh"
. "$HERE/../tests/tools/pg-cluster.sh"
chmod 755 "$T"
# PostgreSQL first: bench_cleanup removes its directory.
trap 'pg_cluster_stop "$T/pg" immediate >/dev/null 2>&1; bench_cleanup' EXIT

bench_ports_free "$P_GW" "$P_ECHO" "$P_HAP" "$P_PG"

RAW=()
NOTES=()
declare -A V	# V[key.metric] = "value value ..." (one per round)
keep() { V[$1.$2]="${V[$1.$2]:-} $3"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# ---- shared set-up: people, CSRs, CA, policy, echo backend -------------------
setup_common() {
	bench_identity "$NPEOPLE"
	bench_csrs "$NPEOPLE"
	bench_ca "$BIN" "$T/ca"
	bench_policy "$T/policy.conf"
	taskset -c "$LG_CPU" "$BIN/mwg-backend" --listen "127.0.0.1:$P_ECHO" \
	    --mode echo >"$T/backend-echo.log" 2>&1 &
	PIDS+=("$!")
	wait_listen "$P_ECHO" $! || die "echo backend did not start"
}

# One PostgreSQL cluster for every part, on the server's CPU: a database
# of the same machine, as SQLite is in mwgd's own process.
PG_PID=
setup_pg() {
	local p
	mkdir -p "$T/pg"
	pg_cluster_init "$T/pg" mwg || die "initdb"
	pg_cluster_start "$T/pg" "$P_PG" || die "PostgreSQL did not start"
	PG_PID=$(pg_cluster_pid "$T/pg") || die "no postmaster pid"
	for p in $(descendants "$PG_PID"); do
		taskset -pc "$GW_CPU" "$p" >/dev/null
	done
}
pg_createdb() {	# NAME: a new, empty database; prints its conninfo
	pg_cluster_psql "$T/pg" "$P_PG" mwg "CREATE DATABASE $1" >/dev/null ||
	    die "CREATE DATABASE $1"
	echo "host=127.0.0.1 port=$P_PG user=mwg dbname=$1"
}

# ---- one node ----------------------------------------------------------------
# node_conf DIR ADDR CONNINFO|- TLS_EXTRA: the node's mwgd.conf.
node_conf() {
	local d=$1 store=
	[ "$3" != - ] && store="store {
    postgres \"$3\"
}"
	mkdir -p "$d/state" "$d/log"
	chown nobody:nogroup "$d/state" "$d/log"
	cat >"$d/mwgd.conf" <<-EOF
	user nobody
	group nogroup
	node-name node-$(basename "$d")
	state-dir $d/state
	workers 1
	policy $T/policy.conf
	control $d/control.sock
	audit {
	    file $d/log/audit.jsonl
	}
	$store
	$(bench_conf_limits)
	listen tls $2:$P_GW {
	    certificate $T/ca/server.pem
	    key         $T/ca/server.key
	    ca          $T/ca/issuing.pem
	    ca-key      $T/ca/issuing.key
	    root        $T/ca/root.pem
	    $4
	}
	EOF
}

# node_start DIR ADDR CONNINFO|- [TLS_EXTRA]: NODE_PID is its pid.
NODE_PID=
node_start() {
	node_conf "$1" "$2" "$3" "${4:-}"
	bench_spawn_mwgd "$BIN/mwgd" "$1/mwgd.conf" "$1/mwgd.log" "$GW_CPU" "$2" "$P_GW"
	NODE_PID=$SPAWNED_PID
}
node_stop() {	# DIR PID: TERM; it must exit 0
	bench_stop "$2"
	[ "$STOPPED_RC" = 0 ] || NOTES+=("$(basename "$1"): mwgd exited with status $STOPPED_RC")
}
ctl() {	# NODE_DIR ARGS...
	local d=$1
	shift
	timeout 20 "$BIN/mwgctl" -s "$d/control.sock" "$@"
}

# The people's TOTP secrets, and an enrolment code for alice1..aliceN
# ($d/codes, line I for aliceI), made through the node's control socket.
node_people() {	# NODE_DIR N
	local d=$1 i c
	ctl "$d" totp import "$T/id/users.oath" >"$d/import.out" 2>&1 ||
	    die "totp import: $(cat "$d/import.out")"
	: >"$d/codes"
	for ((i = 1; i <= $2; i++)); do
		c=$(ctl "$d" enrol-code create --user "alice$i" \
		    --practice "$PRACTICE" --label "bench $i" 2>/dev/null)
		[[ "$c" == *:* ]] || die "enrol-code create gave '$c'"
		echo "$c" >>"$d/codes"
	done
}

# Server CPU (clock ticks): the node's tree and, on PostgreSQL, the
# cluster's (its backend for this node does the store's work).
server_ticks() {	# NODE_PID BACKEND
	local t _ p=0
	read -r t _ < <(tree_ticks "$1")
	[ "$2" = pg ] && read -r p _ < <(tree_ticks "$PG_PID")
	echo "$t $p"
}

# ---- parallel curl clients -----------------------------------------------------
# One curl process per client, each doing its share of the requests one
# after another (curl --next: no process start-up per request, and a new
# connection and full handshake each, as --no-sessionid and Connection:
# close make sure: %{num_connects} must be 1). $d/JOB.I.args holds request
# I's curl options (a curl config file), written by the caller.
# Writes $d/JOB.out: "I status appconnect_s total_s connects" a request.
run_clients() {	# DIR JOB COUNT: prints the wall seconds
	local d=$1 job=$2 n=$3 k i t0 pids=()
	for ((k = 0; k < CLIENTS; k++)); do
		: >"$d/$job.cfg.$k"
		for ((i = k + 1; i <= n; i += CLIENTS)); do
			{
				[ "$i" -gt $((k + 1)) ] && echo next
				printf 'silent\nshow-error\nno-sessionid\nmax-time = 20\n'
				printf 'header = "Connection: close"\n'
				printf 'write-out = "%d %%{http_code} %%{time_appconnect} %%{time_total} %%{num_connects}\\n"\n' "$i"
				cat "$d/$job.$i.args"
			} >>"$d/$job.cfg.$k"
		done
	done
	t0=$(now)
	for ((k = 0; k < CLIENTS; k++)); do
		taskset -c "$LG_CPU" curl -K "$d/$job.cfg.$k" >"$d/$job.out.$k" \
		    2>>"$d/$job.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	since "$t0"
	cat "$d/$job.out."* >"$d/$job.out"
}

# Every request answered 200 on a connection of its own.
check_clients() {	# DIR JOB COUNT WHAT
	local bad
	[ "$(wc -l <"$1/$2.out")" = "$3" ] ||
	    die "$4: $(wc -l <"$1/$2.out") of $3 requests ran: $(head -c 300 "$1/$2.err")"
	bad=$(awk '$2 != 200 || $5 != 1' "$1/$2.out" | head -n 3)
	[ -z "$bad" ] || die "$4: not every request was a 200 on a new connection: $bad ($(head -c 300 "$1/$2.err"))"
}

# p50, p99, max of total; p50 after the handshake; per second; server CPU.
summarise() {	# DIR JOB COUNT WALL T0 P0 T1 P1 KEY METRIC
	local d=$1 n=$3 wall=$4 key=$9 m=${10}
	awk '{ print $4 }' "$d/$2.out" >"$d/$2.total"
	awk '{ printf "%.6f\n", $4 - $3 }' "$d/$2.out" >"$d/$2.after_hs"
	keep "$key" "${m}_rate" "$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.1f", n / w }')"
	keep "$key" "${m}_p50" "$(ms "$(pct "$d/$2.total" 50)")"
	keep "$key" "${m}_p99" "$(ms "$(pct "$d/$2.total" 99)")"
	keep "$key" "${m}_srv_p50" "$(ms "$(pct "$d/$2.after_hs" 50)")"
	keep "$key" "${m}_cpu" "$(ticks_us_per $(($7 - $5 + $8 - $6)) "$n")"
	keep "$key" "${m}_pgcpu" "$(ticks_us_per $(($8 - $6)) "$n")"
	RAW+=("$key $m: n=$n clients=$CLIENTS wall_s=$wall total_s p50=$(pct "$d/$2.total" 50) p99=$(pct "$d/$2.total" 99) max=$(pct "$d/$2.total" 100) after_hs p50=$(pct "$d/$2.after_hs" 50) mwgd_ticks=$(($7 - $5)) pg_ticks=$(($8 - $6))")
}

# ---- part store: logins and enrolments ---------------------------------------
# Enrolment I: aliceI's code and CSR I, no client certificate.
enrol_args() {	# NODE_DIR ADDR
	local d=$1 i=0 code
	while read -r code; do
		i=$((i + 1))
		cat >"$d/enrol.$i.args" <<-EOF
		url = "https://$2:$P_GW/.well-known/est/simpleenroll"
		cacert = "$T/ca/root.pem"
		user = "$code"
		header = "Content-Type: application/pkcs10"
		data-binary = "@$T/csr/$i.b64"
		output = "$d/enrol.$i.body"
		EOF
	done <"$d/codes"
}

# The device certificate each enrolment gave ($d/dev/I.pem), and a check
# that each is for its CSR's key.
enrol_certs() {	# NODE_DIR COUNT
	local d=$1 i
	mkdir -p "$d/dev"
	for ((i = 1; i <= $2; i++)); do
		openssl base64 -d -in "$d/enrol.$i.body" | openssl pkcs7 -inform DER \
		    -print_certs -out "$d/dev/$i.pem" 2>/dev/null ||
		    die "enrolment $i: the answer is no PKCS#7 certificate"
	done
	for i in 1 "$2"; do
		[ "$(openssl x509 -in "$d/dev/$i.pem" -noout -pubkey)" = \
		    "$(openssl pkey -in "$T/csr/$i.key" -pubout)" ] ||
		    die "enrolment $i: the certificate is not for its key"
	done
}

# Login I: aliceI, her password, a code from her TOTP secret made now,
# her enrolled device's certificate.
login_args() {	# NODE_DIR ADDR COUNT
	local d=$1 i=0 pw hex
	while read -r pw hex && [ "$i" -lt "$3" ]; do
		i=$((i + 1))
		printf '{"user":"alice%d","password":"%s","otp":"%s"}' "$i" "$pw" \
		    "$(oathtool --totp "$hex")" >"$d/login.$i.json"
		cat >"$d/login.$i.args" <<-EOF
		url = "https://$2:$P_GW/v1/login"
		cacert = "$T/ca/root.pem"
		cert = "$d/dev/$i.pem"
		key = "$T/csr/$i.key"
		header = "Content-Type: application/json"
		data-binary = "@$d/login.$i.json"
		output = "$d/login.$i.body"
		EOF
	done <"$T/id/logins"
}

measure_store_round() {	# BACKEND ROUND
	local b=$1 n=$2 d=$T/store/$1-r$2 conninfo=- wall t0 p0 t1 p1 t_codes
	mkdir -p "$d"
	if [ "$b" = pg ]; then conninfo=$(pg_createdb "store_r$n") || exit 1; fi
	node_start "$d" 127.0.0.1 "$conninfo"
	node_people "$d" "$NPEOPLE"
	enrol_args "$d" 127.0.0.1
	read -r t0 p0 < <(server_ticks "$NODE_PID" "$b")
	wall=$(run_clients "$d" enrol "$NPEOPLE")
	read -r t1 p1 < <(server_ticks "$NODE_PID" "$b")
	check_clients "$d" enrol "$NPEOPLE" "$b round $n enrolments"
	summarise "$d" enrol "$NPEOPLE" "$wall" "$t0" "$p0" "$t1" "$p1" "$b" enrol
	enrol_certs "$d" "$NPEOPLE"
	# The codes are judged within a step either side: made in step s,
	# they hold until s+1 ends, 30 s at least.
	t_codes=$(now)
	login_args "$d" 127.0.0.1 "$NPEOPLE"
	read -r t0 p0 < <(server_ticks "$NODE_PID" "$b")
	wall=$(run_clients "$d" login "$NPEOPLE")
	read -r t1 p1 < <(server_ticks "$NODE_PID" "$b")
	check_clients "$d" login "$NPEOPLE" "$b round $n logins"
	grep -q 'BEGIN CERTIFICATE' "$d/login.$NPEOPLE.body" ||
	    die "$b round $n: the last login gave no certificate"
	summarise "$d" login "$NPEOPLE" "$wall" "$t0" "$p0" "$t1" "$p1" "$b" login
	RAW+=("$b round $n: the logins' TOTP codes were made $(since "$t_codes") s before the last answer")
	node_stop "$d" "$NODE_PID"
}

part_store() {
	local n b order
	for ((n = 1; n <= ROUNDS; n++)); do
		# Alternate which goes first, so neither always follows the other.
		if [ $((n % 2)) = 1 ]; then order="sqlite pg"; else order="pg sqlite"; fi
		for b in $order; do
			log "store round $n/$ROUNDS: $b, $NPEOPLE enrolments then $NPEOPLE logins, $CLIENTS clients"
			measure_store_round "$b" "$n"
		done
	done
}

# ---- part proxy: through HAProxy with PROXY v2, or straight -------------------
# deploy/haproxy.cfg with this machine's values: one node (node-b
# removed), which HAProxy reaches from HAP_SRC, the one address the node
# takes a header from; a client straight from 127.0.0.1 sends none.
hap_config() {
	local f=$T/proxy/haproxy.cfg
	sed -e "s|log /dev/log local0|log stderr format raw local0 info|" \
	    -e '/^    user haproxy$/d' -e '/^    group haproxy$/d' \
	    -e '/^    chroot /d' -e '/^    stats socket /d' \
	    -e "s|bind :443|bind 127.0.0.1:$P_HAP|" \
	    -e "s|10.0.0.11:443|127.0.0.2:$P_GW|" -e '/10\.0\.0\.12:443/d' \
	    -e "s|/etc/mwg/ca/root.pem|$T/ca/root.pem|" \
	    -e "s|gateway.example.org|localhost|g" \
	    -e "s|maxconn 20000|maxconn 4000|" \
	    -e "s|^    default-server send-proxy-v2 |&source $HAP_SRC |" \
	    "$HERE/../deploy/haproxy.cfg" >"$f"
	sed -i '/^frontend mwg_ssh$/,$d' "$f"	# TLS only
	! grep -v '^ *#' "$f" | grep -E '10\.0\.0\.|example\.org|/etc/|/run/|bind :' >&2 ||
	    die "deploy/haproxy.cfg has a value this script does not replace"
	grep -q "source $HAP_SRC" "$f" || die "deploy/haproxy.cfg: no default-server line to add the source to"
	haproxy -c -q -f "$f" || die "haproxy -c refuses the configuration"
}

lg() {	# LIMIT ARGS...: loadgen on the clients' CPU; its result line
	local limit=$1
	shift
	timeout -k 5 "$limit" taskset -c "$LG_CPU" "$BIN/loadgen" "$@" \
	    --cert "$T/ca/client.pem" --key "$T/ca/client.key" \
	    --ca "$T/ca/root.pem" 2>>"$T/loadgen.err" | grep '^result' | tail -n 1
}

measure_path() {	# PATH(direct|haproxy) ROUND NODE_PID HAP_PID
	local w=$1 n=$2 addr t0 t1 h0 h1 line ok _
	addr=127.0.0.2:$P_GW
	[ "$w" = haproxy ] && addr=127.0.0.1:$P_HAP
	local hs=(handshake --addr "$addr" --connect "echo.$PRACTICE:$P_ECHO" --probe)
	lg 30 "${hs[@]}" --seconds 1 --concurrency 4 --label warmup >/dev/null
	read -r t0 _ < <(tree_ticks "$3")
	read -r h0 _ < <(tree_ticks "$4")
	line=$(lg $((HS_SECONDS + 60)) "${hs[@]}" --seconds "$HS_SECONDS" \
	    --concurrency "$HS_CONC" --label "$w-r$n")
	read -r t1 _ < <(tree_ticks "$3")
	read -r h1 _ < <(tree_ticks "$4")
	RAW+=("proxy round $n $w: $line mwgd_ticks=$((t1 - t0)) haproxy_ticks=$((h1 - h0))")
	ok=$(field "$line" ok)
	[ -n "$ok" ] && [ "$ok" -gt 0 ] || die "$w round $n: no handshake succeeded: $line"
	[ "$(field "$line" failed)" = 0 ] || die "$w round $n: $(field "$line" failed) handshakes failed: $line"
	keep "$w" hs "$(field "$line" per_s)"
	keep "$w" hs_cpu "$(ticks_us_per $((t1 - t0)) "$ok")"
	keep "$w" hs_hap_cpu "$(ticks_us_per $((h1 - h0)) "$ok")"
	keep "$w" hs_busy "$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" \
	    -v s="$(field "$line" seconds)" 'BEGIN { printf "%.0f", t / hz / s * 100 }')"
}

# A request through HAProxy reaches the node and is answered (GET
# /health, no client certificate): HAProxy's header was taken.
hap_wait_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    --cacert "$T/ca/root.pem" --connect-to "localhost:$P_HAP:127.0.0.1:$P_HAP" \
		    "https://localhost:$P_HAP/health")" = 200 ] && return 0
		sleep 0.1
	done
	die "no answer through HAProxy: $(tail -n 3 "$T/proxy/haproxy.log")"
}

part_proxy() {
	local d=$T/proxy/node n w order hap
	mkdir -p "$d"
	hap_config
	node_start "$d" 127.0.0.2 - "proxy-protocol from $HAP_SRC/32"
	setsid taskset -c "$LG_CPU" haproxy -db -f "$T/proxy/haproxy.cfg" \
	    >"$T/proxy/haproxy.log" 2>&1 &
	hap=$!
	PIDS+=("$hap")
	wait_listen "$P_HAP" "$hap" || die "HAProxy did not start: $(tail -n 3 "$T/proxy/haproxy.log")"
	[ "$(readlink "/proc/$hap/exe")" = "$(readlink -f "$(command -v haproxy)")" ] ||
	    die "pid $hap is not haproxy (did setsid fork?)"
	hap_wait_up
	for ((n = 1; n <= HS_ROUNDS; n++)); do
		if [ $((n % 2)) = 1 ]; then order="direct haproxy"; else order="haproxy direct"; fi
		for w in $order; do
			log "proxy round $n/$HS_ROUNDS: $w, $HS_CONC clients, $HS_SECONDS s"
			measure_path "$w" "$n" "$NODE_PID" "$hap"
		done
	done
	# The node took HAProxy's headers (it refuses HAP_SRC without one)
	# and saw the client's address in them, never HAProxy's.
	[ "$(jq -c 'select(.["event.action"]=="proxy.reject")' "$d/log/audit.jsonl" | wc -l)" = 0 ] ||
	    die "the node refused PROXY headers: $(jq -c 'select(.["event.action"]=="proxy.reject")' "$d/log/audit.jsonl" | head -n 2)"
	[ "$(jq -c "select(.[\"source.ip\"]==\"$HAP_SRC\")" "$d/log/audit.jsonl" | wc -l)" = 0 ] ||
	    die "a record names HAProxy's address $HAP_SRC"
	RAW+=("proxy: tunnel.open records $(jq -c 'select(.["event.action"]=="tunnel.open")' "$d/log/audit.jsonl" | wc -l), proxy.reject 0, none from $HAP_SRC")
	node_stop "$d" "$NODE_PID"
	kill -TERM "$hap" 2>/dev/null
}

# ---- part cut: a lock on node A, a tunnel on node B ------------------------------
# Holds a tunnel to node B as a logged-in person, runs the lock command,
# and prints how long after the command began node B closed the
# tunnel: "cut_ms=X lock_ms=Y", or "nocut lock_ms=Y" after WAIT seconds.
CUT_PY='
import socket, ssl, subprocess, sys, time
addr, port, cert, key, ca, target, wait = sys.argv[1:8]
lock = sys.argv[8:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection((addr, int(port)), timeout=10),
                    server_hostname="localhost")
s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
head = b""
while b"\r\n\r\n" not in head:
    b = s.recv(1)
    if not b:
        sys.exit("tunnel: closed before the answer")
    head += b
if not head.startswith(b"HTTP/1.1 200 "):
    sys.exit("tunnel: CONNECT answered %r" % head.split(b"\r\n")[0])
s.sendall(b"x")
if s.recv(1) != b"x":
    sys.exit("tunnel: the echo did not come back")
# The clock starts with mwgctl, and the socket is read while it runs:
# node B may cut the tunnel before node A has answered mwgctl.
t0 = time.monotonic()
p = subprocess.Popen(lock, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
s.settimeout(float(wait))
try:
    while s.recv(4096):
        pass
    cut = True
except socket.timeout:
    cut = False
except (ssl.SSLError, ConnectionResetError):
    cut = True
t2 = time.monotonic()
err = p.communicate()[1]
t1 = time.monotonic()
if p.returncode != 0:
    sys.exit("lock: %s" % err.decode(errors="replace").strip())
if cut:
    print("cut_ms=%.1f lock_ms=%.1f" % ((t2 - t0) * 1000, (t1 - t0) * 1000))
else:
    print("nocut lock_ms=%.1f" % ((t1 - t0) * 1000))
'

# Try I: aliceI enrols through A, logs in on B (a person a try: each
# TOTP code works once per person, and a second login of the same person
# would wait for the next 30 s step), holds a tunnel on B; the lock is
# made on NODES_CUT_LOCK_ON, then lifted there.
cut_try() {	# I
	local i=$1 a=$T/cut/A b=$T/cut/B lockd out code pw hex
	lockd=$a
	[ "$CUT_LOCK_ON" = B ] && lockd=$b
	out=$(curl -sS --max-time 20 --cacert "$T/ca/root.pem" -u "$(sed -n "${i}p" "$a/codes")" \
	    -H 'Content-Type: application/pkcs10' --data-binary @"$T/csr/$i.b64" \
	    -o "$a/enrol.$i.body" -w '%{http_code}' "https://127.0.0.2:$P_GW/.well-known/est/simpleenroll" 2>&1)
	[ "$out" = 200 ] || die "cut try $i: enrolment on A answered '$out'"
	mkdir -p "$a/dev"
	openssl base64 -d -in "$a/enrol.$i.body" | openssl pkcs7 -inform DER \
	    -print_certs -out "$a/dev/$i.pem" 2>/dev/null || die "cut try $i: no device certificate"
	read -r pw hex < <(sed -n "${i}p" "$T/id/logins")
	code=$(oathtool --totp "$hex")
	out=$(printf '{"user":"alice%d","password":"%s","otp":"%s"}' "$i" "$pw" "$code" |
	    curl -sS --max-time 20 --cacert "$T/ca/root.pem" --cert "$a/dev/$i.pem" \
	    --key "$T/csr/$i.key" -H 'Content-Type: application/json' --data-binary @- \
	    -o "$b/login.$i.body" -w '%{http_code}' "https://127.0.0.3:$P_GW/v1/login" 2>&1)
	[ "$out" = 200 ] || die "cut try $i: login on B answered '$out': $(head -c 200 "$b/login.$i.body")"
	jq -r .certificate "$b/login.$i.body" >"$b/session.$i.pem"
	out=$(taskset -c "$LG_CPU" timeout $((CUT_WAIT + 30)) python3 -c "$CUT_PY" \
	    127.0.0.3 "$P_GW" "$b/session.$i.pem" "$T/csr/$i.key" "$T/ca/root.pem" \
	    "echo.$PRACTICE:$P_ECHO" "$CUT_WAIT" \
	    "$BIN/mwgctl" -s "$lockd/control.sock" lock user "alice$i" --reason "bench try $i" 2>&1) ||
	    die "cut try $i: $out"
	ctl "$lockd" unlock user "alice$i" >/dev/null || die "cut try $i: unlock"
	echo "$out"
}

part_cut() {
	local conninfo i out miss=0 ms
	mkdir -p "$T/cut/A" "$T/cut/B"
	conninfo=$(pg_createdb cut) || exit 1
	node_start "$T/cut/A" 127.0.0.2 "$conninfo"
	local pid_a=$NODE_PID
	# Every node sharing the database holds the same secrets.key.
	mkdir -p "$T/cut/B/state"
	cp -p "$T/cut/A/state/secrets.key" "$T/cut/B/state/" || die "no secrets.key on node A"
	node_start "$T/cut/B" 127.0.0.3 "$conninfo"
	local pid_b=$NODE_PID
	node_people "$T/cut/A" "$CUT_TRIES"
	: >"$T/cut/ms"
	for ((i = 1; i <= CUT_TRIES; i++)); do
		out=$(cut_try "$i") || exit 1
		RAW+=("cut try $i (lock on $CUT_LOCK_ON): $out")
		if [[ "$out" == cut_ms=* ]]; then
			ms=$(field "$out" cut_ms)
			echo "$ms" >>"$T/cut/ms"
			miss=0
			log "cut try $i/$CUT_TRIES: cut $ms ms after the lock began"
		else
			miss=$((miss + 1))
			log "cut try $i/$CUT_TRIES: no cut within $CUT_WAIT s"
			if [ "$miss" -ge "$CUT_GIVEUP" ]; then
				NOTES+=("cut: stopped after try $i, $miss tries in a row with no cut within $CUT_WAIT s")
				break
			fi
		fi
	done
	CUT_DONE=$((i > CUT_TRIES ? CUT_TRIES : i))
	node_stop "$T/cut/B" "$pid_b"
	node_stop "$T/cut/A" "$pid_a"
}

# ---- the report ----------------------------------------------------------------
row() {	# LABEL KEY_A KEY_B METRIC: median [range] of each, and B/A
	local a b
	# shellcheck disable=SC2086
	a=$(median ${V[$2.$4]:-}) b=$(median ${V[$3.$4]:-})
	# shellcheck disable=SC2086
	printf '%-44s %9s %-15s %9s %-15s %6s\n' "$1" "${a:-n/a}" "[$(spread ${V[$2.$4]:-})]" \
	    "${b:-n/a}" "[$(spread ${V[$3.$4]:-})]" "$(ratio "$b" "$a")"
}

report_store() {
	echo "== logins and enrolments: SQLite vs PostgreSQL ($CLIENTS clients in parallel, $NPEOPLE of each per round, median [range] of $ROUNDS rounds)"
	printf '%-44s %9s %-15s %9s %-15s %6s\n' "" sqlite "" postgresql "" pg/sq
	row "enrolments/s" sqlite pg enrol_rate
	row "enrolment p50 ms (curl total)" sqlite pg enrol_p50
	row "enrolment p99 ms (curl total)" sqlite pg enrol_p99
	row "  enrolment p50 ms after the handshake" sqlite pg enrol_srv_p50
	row "server CPU us per enrolment (mwgd+pg)" sqlite pg enrol_cpu
	row "  of it PostgreSQL's" sqlite pg enrol_pgcpu
	row "logins/s" sqlite pg login_rate
	row "login p50 ms (curl total)" sqlite pg login_p50
	row "login p99 ms (curl total)" sqlite pg login_p99
	row "  login p50 ms after the handshake" sqlite pg login_srv_p50
	row "server CPU us per login (mwgd+pg)" sqlite pg login_cpu
	row "  of it PostgreSQL's" sqlite pg login_pgcpu
	echo
}

report_proxy() {
	local r
	echo "== full handshakes/s into one node: straight vs through HAProxy with PROXY v2 (median [range] of $HS_ROUNDS rounds, $HS_CONC clients, $HS_SECONDS s each)"
	printf '%-44s %9s %-15s %9s %-15s %6s\n' "" direct "" haproxy "" hap/dir
	row "full handshakes/s (CONNECT + 1 byte echoed)" direct haproxy hs
	row "mwgd CPU us per handshake" direct haproxy hs_cpu
	row "  mwgd CPU busy %" direct haproxy hs_busy
	row "HAProxy CPU us per handshake" direct haproxy hs_hap_cpu
	r=$(paired hs)
	# shellcheck disable=SC2086
	echo "paired haproxy/direct handshakes/s, round by round: $(echo $r) (median $(median $r))"
	echo
}
paired() {	# METRIC: haproxy/direct of each round
	local a=(${V[haproxy.$1]:-}) b=(${V[direct.$1]:-}) i
	for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
		ratio "${a[$i]}" "${b[$i]}"
	done
}

report_cut() {
	local n
	n=$(wc -l <"$T/cut/ms")
	echo "== a lock on node ${CUT_LOCK_ON} (127.0.0.$([ "$CUT_LOCK_ON" = A ] && echo 2 || echo 3)) cuts a live tunnel on node B (127.0.0.3), one PostgreSQL"
	echo "tries: $CUT_DONE of $CUT_TRIES; cut within $CUT_WAIT s: $n"
	if [ "$n" -gt 0 ]; then
		echo "ms from mwgctl's start to the tunnel's EOF: p50 $(pct "$T/cut/ms" 50), max $(pct "$T/cut/ms" 100), min $(pct "$T/cut/ms" 0)"
	fi
	[ "$n" -lt "$CUT_DONE" ] && echo "no cut within $CUT_WAIT s in $((CUT_DONE - n)) of $CUT_DONE tries"
	echo
}

# ---- run -----------------------------------------------------------------------------
log "set-up: $NPEOPLE people, CSRs, CA, PostgreSQL on 127.0.0.1:$P_PG"
setup_common
setup_pg
log "set-up took ${SECONDS} s"
for p in $PARTS; do
	"part_$p"
done

mkdir -p "$HERE/results"
{
	echo "mwg several nodes (bench/nodes.sh $PARTS), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "build: $BIN (commit $(git -C "$HERE" log -1 --format=%h 2>/dev/null || echo '?'))"
	echo "host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1), Linux $(uname -r), $(df --output=fstype "$T" | tail -n 1) under $T,"
	echo "  load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end; shared with other work: noisy"
	echo "mwgd and PostgreSQL $("$(pg_cluster_bindir)/postgres" --version | awk '{ print $3 }') on CPU $GW_CPU; curl, loadgen, HAProxy $(haproxy -v | head -n 1 | awk '{ print $3 }'), the echo backend on CPU $LG_CPU"
	echo
	for p in $PARTS; do "report_$p"; done
	for line in "${NOTES[@]}"; do echo "note: $line"; done
	echo "raw:"
	for line in "${RAW[@]}"; do printf '  %s\n' "$line"; done
} >"$T/report.txt"
cp "$T/report.txt" "$HERE/results/nodes.txt"
cat "$T/report.txt"
