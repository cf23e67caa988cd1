#!/bin/bash
# bench/run.sh BUILD_DIR [policy|ssh|churn|tunnels]: measure mwgd against
# stunnel, haproxy and nginx's stream module, each terminating the same mutual TLS on one pinned CPU and
# forwarding to the same stand-in backends, all on 127.0.0.1; then the
# audit writer and the policy engine on their own. Builds nothing (`make
# bench` does); prints a table and writes it to bench/results/latest.txt.
# With "policy", only the policy engine's section is run and printed; with
# "ssh", only bench/ssh_bench.sh (mwgd's SSH listener against sshd); with
# "churn", only its churn mode; with "tunnels", only bench/tunnels_bench.sh
# (N idle TLS and SSH tunnels beside HAProxy's).
# Knobs (environment, see bench/README.md): BENCH_PORT_BASE BENCH_BULK_MIB
# BENCH_HS_SECONDS BENCH_HS_CONC BENCH_RTT_COUNT BENCH_IDLE_COUNT
# BENCH_ROUNDS BENCH_GATEWAYS BENCH_LOADGEN_ARGS (e.g. "--tls 1.2"),
# BENCH_POLICY_SECONDS (the policy engine's decision loop, default 3), and
# BENCH_KEEP=1 to keep the scratch directory (configs, logs) for a look.
set -u

BUILD=${1:?usage: bench/run.sh BUILD_DIR}
BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || {
	echo "bench: no $BUILD/bin (run make BUILD=$BUILD all first)" >&2
	exit 1
}
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=$HERE/results
PORT_BASE=${BENCH_PORT_BASE:-19400}
BULK_MIB=${BENCH_BULK_MIB:-512}
HS_SECONDS=${BENCH_HS_SECONDS:-6}
HS_CONC=${BENCH_HS_CONC:-32}
RTT_COUNT=${BENCH_RTT_COUNT:-20000}
IDLE_COUNT=${BENCH_IDLE_COUNT:-1000}
GATEWAYS=${BENCH_GATEWAYS:-mwgd haproxy stunnel nginx}
PEERS="haproxy stunnel nginx"
PRACTICE=K84001
START_TIMEOUT=10	# seconds for a process to start listening
# The peers get mwgd's server-side lists (gateway/tls.c); loadgen offers one
# suite and one group of them, so all three run the same cryptography.
TLS12_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
TLS13_SUITES="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:\
TLS_CHACHA20_POLY1305_SHA256"
TLS_GROUPS="X25519:P-256:P-384"

# The gateway gets CPU 0 to itself; load generator and backends share CPU 1.
GW_CPU=0
LG_CPU=1
if [ "$(nproc)" -lt 2 ]; then
	echo "bench: one CPU only: gateway and load share it" >&2
	LG_CPU=0
fi

# The policy engine alone (bench/policy_bench.c): a county-sized generated
# policy, parsed and freed as a reload does, its memory, and decisions on
# one pinned CPU. Prints its section of the report.
policy_section() {	# SCRATCH_DIR
	[ -x "$BIN/policy_bench" ] || {
		echo "policy: n/a ($BIN/policy_bench not built)"
		return
	}
	echo "policy engine (bench/policy_bench.c: 100 practices x 10 targets," \
	    "20 roles, 5,000 members; targets: >= 1,000,000 decisions/s on one" \
	    "core, parse + free <= 50 ms):"
	taskset -c "$GW_CPU" "$BIN/policy_bench" "$1" \
	    "${BENCH_POLICY_SECONDS:-3}" 2>&1 | sed 's/^result /  /'
	echo "  (CPU time of the one thread; per_wall_s is the same over the" \
	    "wall clock, lower on a busy machine)"
}

[ "${2:-}" = ssh ] && exec "$HERE/ssh_bench.sh" "$BUILD"
ONLY_TLS=0
[ "${2:-}" = tls ] && ONLY_TLS=1
[ "${2:-}" = churn ] && exec "$HERE/ssh_bench.sh" "$BUILD" churn
[ "${2:-}" = ssh-idle ] && exec "$HERE/ssh_bench.sh" "$BUILD" idle
[ "${2:-}" = tunnels ] && exec "$HERE/tunnels_bench.sh" "$BUILD"
if [ "${2:-}" = policy ]; then
	T=$(mktemp -d /tmp/mwg-bench.XXXXXX)
	policy_section "$T"
	rm -rf "$T"
	exit 0
fi

P_DISCARD=$((PORT_BASE + 1))
P_SOURCE=$((PORT_BASE + 2))
P_ECHO=$((PORT_BASE + 3))
P_MWGD=$((PORT_BASE + 10))
P_HAPROXY=$((PORT_BASE + 20))	# +0 discard, +1 source, +2 echo
P_STUNNEL=$((PORT_BASE + 30))	# likewise
P_NGINX=$((PORT_BASE + 40))	# likewise
P_FLOOR=$((PORT_BASE + 50))	# +0 session-cache ticket, +1 stateless

for tool in loadgen mwg-backend; do
	if [ ! -x "$BIN/$tool" ]; then
		echo "bench: $BIN/$tool missing (make BUILD=$BUILD all)" >&2
		exit 1
	fi
done

BENCH_LOG_PREFIX=bench
. "$HERE/lib.sh"

# ---- certificates ----------------------------------------------------
# The project's own tools when built; the openssl CLI otherwise, with the
# same shape: root -> issuing (signs the device), root -> server.
ca_openssl() {
	local d=$1
	mkdir -p "$d" && cd "$d" || return 1
	cat >ext.cnf <<-EOF
	[ca]
	basicConstraints = critical, CA:true
	keyUsage = critical, keyCertSign, cRLSign
	[server]
	basicConstraints = critical, CA:false
	keyUsage = critical, digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = IP:127.0.0.1, DNS:localhost
	[device]
	basicConstraints = critical, CA:false
	keyUsage = critical, digitalSignature
	extendedKeyUsage = clientAuth
	subjectAltName = URI:urn:mwg:device:bench-1
	EOF
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 "${ec[@]}" -keyout root.key -out root.pem -days 30 \
	    -subj /CN=bench-root -extensions ca -config ext.cnf 2>/dev/null &&
	openssl req "${ec[@]}" -keyout issuing.key -out issuing.csr \
	    -subj /CN=bench-issuing 2>/dev/null &&
	openssl x509 -req -in issuing.csr -CA root.pem -CAkey root.key \
	    -CAcreateserial -days 30 -extfile ext.cnf -extensions ca \
	    -out issuing.pem 2>/dev/null &&
	openssl req "${ec[@]}" -keyout server.key -out server.csr \
	    -subj /CN=127.0.0.1 2>/dev/null &&
	openssl x509 -req -in server.csr -CA root.pem -CAkey root.key \
	    -CAcreateserial -days 30 -extfile ext.cnf -extensions server \
	    -out server.pem 2>/dev/null &&
	openssl req "${ec[@]}" -keyout client.key -out client.csr \
	    -subj /CN=bench-1 2>/dev/null &&
	openssl x509 -req -in client.csr -CA issuing.pem -CAkey issuing.key \
	    -CAcreateserial -days 30 -extfile ext.cnf -extensions device \
	    -out client.pem 2>/dev/null
}

make_ca() {
	local d=$T/ca
	if [ -x "$BIN/mwgctl" ] && [ -x "$BIN/mwg-testcert" ] &&
	    "$BIN/mwgctl" ca init --dir "$d" --host 127.0.0.1 \
	    --host localhost >"$T/ca.log" 2>&1 &&
	    "$BIN/mwg-testcert" --ca-dir "$d" --id bench-1 --user bench \
	    --group bench --out "$d/client" >>"$T/ca.log" 2>&1; then
		CA_HOW="mwgctl ca init + mwg-testcert"
	else
		log "mwgctl/mwg-testcert unavailable or failed: openssl CLI CA"
		rm -rf "$d"
		(ca_openssl "$d") || { log "cannot make a CA"; exit 1; }
		CA_HOW="openssl CLI (mwgctl/mwg-testcert unavailable)"
	fi
	CA=$d
	# The peers cannot anchor trust at an intermediate, so they get the
	# issuing CA with its root; mwgd anchors at issuing.pem alone.
	cat "$d/issuing.pem" "$d/root.pem" >"$T/clientca.pem"
	(umask 077 && cat "$d/server.pem" "$d/server.key" >"$T/haproxy.pem")
}

# ---- backends ----------------------------------------------------------
start_backend() {	# MODE PORT [ARGS]
	local mode=$1 port=$2
	shift 2
	taskset -c "$LG_CPU" "$BIN/mwg-backend" --listen "127.0.0.1:$port" \
	    --mode "$mode" --pidfile "$T/$mode.pid" "$@" \
	    >"$T/backend-$mode.log" 2>&1 &
	PIDS+=("$!")
	wait_listen "$port" $! || { log "backend $mode did not start"; exit 1; }
}

# ---- gateways: each started on GW_CPU; sets NEW_PID or returns 1 -------------
start_mwgd() {
	[ -x "$BIN/mwgd" ] || { GW_WHY="not built"; return 1; }
	# The state store opens after the drop to nobody: its own directory.
	mkdir -p "$T/mwgd/state"
	chown nobody:nogroup "$T/mwgd/state"
	cat >"$T/mwgd/policy.conf" <<-EOF
	practice $PRACTICE "Bench practice" {
	    target discard 127.0.0.1:$P_DISCARD
	    target source  127.0.0.1:$P_SOURCE
	    target echo    127.0.0.1:$P_ECHO
	}
	role bench {
	    groups    bench
	    practices *
	    targets   *
	}
	EOF
	# mwgd refuses to run as root: it drops to nobody after set-up and
	# must still be able to read its key (on reload) then.
	chmod 755 "$T" "$CA"
	chgrp nogroup "$CA/server.key" 2>/dev/null && chmod 640 "$CA/server.key"
	cat >"$T/mwgd/mwgd.conf" <<-EOF
	user nobody
	group nogroup
	state-dir $T/mwgd/state
	workers 1
	policy $T/mwgd/policy.conf
	control $T/mwgd/control.sock
	audit {
	    file $T/mwgd/audit.jsonl
	}
	$(bench_conf_limits)
	listen tls 127.0.0.1:$P_MWGD {
	    certificate $CA/server.pem
	    key $CA/server.key
	    ca $CA/issuing.pem
	}
	EOF
	taskset -c "$GW_CPU" "$BIN/mwgd" -f "$T/mwgd/mwgd.conf" \
	    >"$T/mwgd.log" 2>&1 &
	NEW_PID=$!
	PIDS+=("$NEW_PID")
	wait_listen "$P_MWGD" "$NEW_PID" || {
		GW_WHY="did not start: $(tail -n 1 "$T/mwgd.log")"
		return 1
	}
}

start_haproxy() {
	command -v haproxy >/dev/null || { GW_WHY="not installed"; return 1; }
	local f=$T/haproxy.cfg name port i=0
	local tls="ssl crt $T/haproxy.pem ca-file $T/clientca.pem verify required"
	cat >"$f" <<-EOF
	global
	    nbthread 1
	    maxconn 4096
	    log stdout format raw local0 info
	    ssl-default-bind-options ssl-min-ver TLSv1.2
	    ssl-default-bind-ciphers $TLS12_CIPHERS
	    ssl-default-bind-ciphersuites $TLS13_SUITES
	    ssl-default-bind-curves $TLS_GROUPS
	defaults
	    mode tcp
	    log global
	    option tcplog
	    timeout connect 10s
	    timeout client 30m
	    timeout server 30m
	EOF
	for name in discard source echo; do
		port=$((PORT_BASE + 1 + i))
		cat >>"$f" <<-EOF
		frontend fe_$name
		    bind 127.0.0.1:$((P_HAPROXY + i)) $tls
		    default_backend be_$name
		backend be_$name
		    server $name 127.0.0.1:$port
		EOF
		i=$((i + 1))
	done
	taskset -c "$GW_CPU" haproxy -db -f "$f" >"$T/haproxy.log" 2>&1 &
	NEW_PID=$!
	PIDS+=("$NEW_PID")
	wait_listen "$((P_HAPROXY + 2))" "$NEW_PID" ||
	    { GW_WHY="did not start"; return 1; }
}

start_stunnel() {
	command -v stunnel4 >/dev/null || { GW_WHY="not installed"; return 1; }
	local f=$T/stunnel.conf name i=0
	cat >"$f" <<-EOF
	foreground = yes
	pid =
	output = $T/stunnel.log
	EOF
	for name in discard source echo; do
		cat >>"$f" <<-EOF
		[$name]
		accept = 127.0.0.1:$((P_STUNNEL + i))
		connect = 127.0.0.1:$((PORT_BASE + 1 + i))
		cert = $CA/server.pem
		key = $CA/server.key
		CAfile = $T/clientca.pem
		verifyChain = yes
		sslVersionMin = TLSv1.2
		ciphers = $TLS12_CIPHERS
		ciphersuites = $TLS13_SUITES
		curves = $TLS_GROUPS
		EOF
		i=$((i + 1))
	done
	taskset -c "$GW_CPU" stunnel4 "$f" >"$T/stunnel.out" 2>&1 &
	NEW_PID=$!
	PIDS+=("$NEW_PID")
	wait_listen "$((P_STUNNEL + 2))" "$NEW_PID" ||
	    { GW_WHY="did not start"; return 1; }
}

# nginx's stream module: one worker (the master only supervises), TLS
# terminated with the same files and lists, the client certificate
# required and verified to the root, half-close passed on, a connection
# log line per session. Sets MEASURE_PID to the worker: it does the work.
start_nginx() {
	local mod=/usr/lib/nginx/modules/ngx_stream_module.so name i=0 w
	command -v nginx >/dev/null || { GW_WHY="not installed"; return 1; }
	[ -e "$mod" ] || { GW_WHY="no stream module ($mod)"; return 1; }
	mkdir -p "$T/nginx"
	cat >"$T/nginx/nginx.conf" <<-EOF
	load_module $mod;
	daemon off;
	worker_processes 1;
	worker_rlimit_nofile $(ulimit -Hn);
	pid $T/nginx/nginx.pid;
	error_log $T/nginx/error.log notice;
	events {
	    worker_connections 20000;
	}
	stream {
	    log_format conn '\$remote_addr [\$time_local] \$status'
	        ' \$bytes_sent \$bytes_received \$session_time'
	        ' \$ssl_protocol \$ssl_cipher';
	    access_log $T/nginx/access.log conn;
	    ssl_certificate $CA/server.pem;
	    ssl_certificate_key $CA/server.key;
	    ssl_client_certificate $T/clientca.pem;
	    ssl_verify_client on;
	    ssl_verify_depth 2;
	    ssl_protocols TLSv1.2 TLSv1.3;
	    ssl_ciphers $TLS12_CIPHERS;
	    ssl_conf_command Ciphersuites $TLS13_SUITES;
	    ssl_ecdh_curve $TLS_GROUPS;
	    proxy_half_close on;
	    proxy_connect_timeout 10s;
	    proxy_timeout 30m;
	EOF
	for name in discard source echo; do
		cat >>"$T/nginx/nginx.conf" <<-EOF
		    server {
		        listen 127.0.0.1:$((P_NGINX + i)) ssl;
		        proxy_pass 127.0.0.1:$((PORT_BASE + 1 + i));
		    }
		EOF
		i=$((i + 1))
	done
	echo "}" >>"$T/nginx/nginx.conf"
	taskset -c "$GW_CPU" nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" \
	    -e "$T/nginx/error.log" >"$T/nginx.out" 2>&1 &
	NEW_PID=$!
	PIDS+=("$NEW_PID")
	wait_listen "$((P_NGINX + 2))" "$NEW_PID" || {
		GW_WHY="did not start: $(tail -n 1 "$T/nginx/error.log" 2>/dev/null)"
		return 1
	}
	for ((i = 0; i < 50; i++)); do
		w=$(pgrep -P "$NEW_PID" | head -n 1)
		[ -n "$w" ] && break
		sleep 0.1
	done
	[ -n "$w" ] || { GW_WHY="no worker process"; return 1; }
	MEASURE_PID=$w
}

# ---- measurements ------------------------------------------------------------
declare -A V		# V[gateway.metric] = "value value ..." (one per round)
declare -A R		# R[gateway.metric] = the median of V
declare -A GW_PID	# gateway -> pid
declare -A STATUS	# gateway -> "ran" or why not
declare -A TLS_INFO	# gateway -> negotiated version, cipher, group
RAW=()
NOTES=()	# failures worth a line under the table

field() {	# LINE KEY: the value of KEY=... in a result line
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

lg() {	# SECONDS ARGS...: one bounded loadgen run on LG_CPU; prints its result
	local limit=$1
	shift
	# shellcheck disable=SC2086
	timeout -k 5 "$limit" taskset -c "$LG_CPU" "$BIN/loadgen" "$@" \
	    ${BENCH_LOADGEN_ARGS:-} --cert "$CA/client.pem" \
	    --key "$CA/client.key" --ca "$CA/root.pem" \
	    2>>"$T/loadgen.err" | grep '^result' | tail -n 1
}

# addr GW NAME: the address (and CONNECT target) that reaches backend NAME.
addr() {
	local i
	case $2 in discard) i=0 ;; source) i=1 ;; echo) i=2 ;; esac
	case $1 in
	mwgd) echo "--addr 127.0.0.1:$P_MWGD" \
	    "--connect $2.$PRACTICE:$((PORT_BASE + 1 + i))" ;;
	haproxy) echo "--addr 127.0.0.1:$((P_HAPROXY + i))" ;;
	stunnel) echo "--addr 127.0.0.1:$((P_STUNNEL + i))" ;;
	nginx) echo "--addr 127.0.0.1:$((P_NGINX + i))" ;;
	esac
}

keep() {	# GW METRIC LINE KEY [REQUIRE_KEY=VALUE]: record one value
	local v
	[ -n "$3" ] || { log "$1: $2: no result (see loadgen errors)"; return; }
	if [ -n "${5:-}" ] && [ "$(field "$3" "${5%%=*}")" != "${5#*=}" ]; then
		log "$1: $2 not confirmed, not counted: $3"
		NOTES+=("$1: a $2 run was not confirmed and not counted")
		return
	fi
	v=$(field "$3" "$4")
	[ -n "$v" ] && V[$1.$2]="${V[$1.$2]:-} $v"
}


# Opens IDLE_COUNT tunnels through a gateway that has served only a short
# warm-up, so earlier tests' freed memory cannot hide or inflate the cost.
measure_idle() {
	local gw=$1 pid=${GW_PID[$1]} before after out=$T/idle-$1.out lpid i
	# shellcheck disable=SC2046
	lg 60 rtt $(addr "$gw" echo) --count 100 --label "$gw" >/dev/null
	sleep 0.5
	before=$(tree_private_kib "$pid")
	: >"$out"
	# shellcheck disable=SC2046,SC2086
	timeout -k 5 180 taskset -c "$LG_CPU" "$BIN/loadgen" idle \
	    $(addr "$gw" echo) ${BENCH_LOADGEN_ARGS:-} --count "$IDLE_COUNT" \
	    --seconds 120 --label "$gw" --cert "$CA/client.pem" \
	    --key "$CA/client.key" --ca "$CA/root.pem" \
	    >"$out" 2>>"$T/loadgen.err" &
	lpid=$!
	PIDS+=("$lpid")
	for ((i = 0; i < 1200; i++)); do
		grep -q '^ready' "$out" && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "^ready.* count=$IDLE_COUNT\$" "$out"; then
		sleep 1		# let the gateway finish its side of each open
		after=$(tree_private_kib "$pid")
		V[$gw.mem]=$(awk -v a="$after" -v b="$before" \
		    -v n="$IDLE_COUNT" 'BEGIN { printf "%.1f", (a - b) / n }')
		RAW+=("idle $gw: private KiB before=$before after=$after")
	else
		log "$gw: idle: could not open $IDLE_COUNT tunnels"
		NOTES+=("$gw: could not open $IDLE_COUNT idle tunnels")
	fi
	kill -TERM "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
}

measure_round() {	# GW: one value of every throughput and latency metric
	local gw=$1 pid=${GW_PID[$1]} line
	# shellcheck disable=SC2046
	line=$(lg 150 bulk $(addr "$gw" discard) --send "$BULK_MIB" \
	    --label "$gw")
	RAW+=("$line")
	keep "$gw" bulk_send "$line" MBps confirmed=1
	[ -n "$line" ] && TLS_INFO[$gw]="$(field "$line" tls)\
 $(field "$line" cipher) $(field "$line" group)"
	# shellcheck disable=SC2046
	line=$(lg 150 bulk $(addr "$gw" source) --recv "$BULK_MIB" \
	    --label "$gw")
	RAW+=("$line")
	keep "$gw" bulk_recv "$line" MBps confirmed=1
	# shellcheck disable=SC2046
	line=$(lg $((HS_SECONDS + 60)) handshake $(addr "$gw" echo) --probe \
	    --seconds "$HS_SECONDS" --concurrency "$HS_CONC" \
	    --cpu-pid "$pid" --label "$gw")
	RAW+=("$line")
	keep "$gw" hs "$line" per_s
	keep "$gw" hs_cpu "$line" gw_cpu_us_per_op
	keep "$gw" hs_busy "$line" gw_busy_pct
	if [ -n "$line" ] && [ "$(field "$line" failed)" != 0 ]; then
		log "$gw: $(field "$line" failed) handshakes failed"
		NOTES+=("$gw: $(field "$line" failed) handshakes failed in \
round $round")
	fi
	# shellcheck disable=SC2046
	line=$(lg 120 rtt $(addr "$gw" echo) --count "$RTT_COUNT" --size 64 \
	    --cpu-pid "$pid" --label "$gw")
	RAW+=("$line")
	keep "$gw" p50 "$line" p50_us
	keep "$gw" p99 "$line" p99_us
	keep "$gw" rtt_cpu "$line" gw_cpu_us_per_op
}

median() {	# VALUES...: the median (the lower middle for an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) print v[int((NR + 1) / 2)] }'
}

# ---- the table -------------------------------------------------------------
METRICS="bulk_send bulk_recv hs hs_busy hs_cpu p50 p99 rtt_cpu mem"
declare -A LABEL=(
	[bulk_send]="bulk upload MB/s (${BULK_MIB} MiB, 1 tunnel)"
	[bulk_recv]="bulk download MB/s (${BULK_MIB} MiB)"
	[hs]="full handshakes/s (${HS_CONC} conc, ${HS_SECONDS} s)"
	[hs_busy]="  gateway CPU busy % meanwhile"
	[hs_cpu]="gateway CPU us per handshake"
	[p50]="RTT p50 us (64 B)"
	[p99]="RTT p99 us (64 B)"
	[rtt_cpu]="gateway CPU us per round trip"
	[mem]="private KiB per idle tunnel (${IDLE_COUNT})"
)
declare -A BETTER=([bulk_send]=higher [bulk_recv]=higher [hs]=higher
	[hs_busy]=- [hs_cpu]=lower [p50]=lower [p99]=lower [rtt_cpu]=lower
	[mem]=lower)

ratio() {	# A B: A/B, or n/a
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo n/a
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b <= 0 || a < 0) print "n/a"; else printf "%.2f", a / b }'
}

# The best peer's value for metric m (highest or lowest, as is better)
# and its name, or nothing.
best_peer() {	# METRIC
	local g v best="" who=""
	for g in $PEERS; do
		v=${R[$g.$1]:-}
		[ -n "$v" ] || continue
		if [ -z "$best" ] || awk -v a="$v" -v b="$best" -v d="${BETTER[$1]}" \
		    'BEGIN { exit !(d == "higher" ? a > b : a < b) }'; then
			best=$v
			who=$g
		fi
	done
	[ -n "$best" ] && echo "$best $who"
}

# ---- the OpenSSL floor: bench/hs_floor.c, no gateway around it --------------
FLOOR_KINDS="cache stateless"
start_floor() {	# KIND PORT: hs_floor with that ticket kind, on GW_CPU
	[ -x "$BIN/hs_floor" ] || return 1
	taskset -c "$GW_CPU" "$BIN/hs_floor" "$T/ca" "$2" --tickets "$1" \
	    >"$T/floor-$1.log" 2>&1 &
	FLOOR_PID[$1]=$!
	PIDS+=("$!")
	wait_listen "$2" "$!"
}

measure_floor() {	# KIND PORT: one handshake run against that floor server
	local line
	line=$(lg $((HS_SECONDS + 60)) handshake --addr "127.0.0.1:$2" \
	    --probe --seconds "$HS_SECONDS" --concurrency "$HS_CONC" \
	    --cpu-pid "${FLOOR_PID[$1]}" --label "floor-$1")
	RAW+=("$line")
	[ -n "$line" ] && FLOOR_V[$1]="${FLOOR_V[$1]:-} $(field "$line" \
	    gw_cpu_us_per_op)"
}

floor_report() {
	local k med
	echo "OpenSSL's floor per full handshake (bench/hs_floor.c: one thread," \
	    "the key in the process, mwgd's TLS settings, the handshake and the" \
	    "probe byte echoed, no target dialled, no policy, no audit):"
	for k in $FLOOR_KINDS; do
		# shellcheck disable=SC2086
		med=$(median ${FLOOR_V[$k]:-})
		echo "  $k ticket: ${med:-n/a} us CPU per handshake" \
		    "(rounds:${FLOOR_V[$k]:- none})"
	done
	echo "  (mwgd sends a session-cache ticket; HAProxy, stunnel and nginx" \
	    "a stateless one, OpenSSL's default)"
	floor_margins
}

# What each gateway spends above the floor of its own ticket kind, and what
# issue 17's target (0.67 x the best peer) would leave mwgd above its floor.
floor_margins() {
	local cache stateless best m g v f
	# shellcheck disable=SC2086
	cache=$(median ${FLOOR_V[cache]:-})
	# shellcheck disable=SC2086
	stateless=$(median ${FLOOR_V[stateless]:-})
	[ -n "$cache" ] && [ -n "$stateless" ] || return 0
	for g in mwgd $PEERS; do
		v=${R[$g.hs_cpu]:-}
		[ -n "$v" ] || continue
		[ "$g" = mwgd ] && f=$cache || f=$stateless
		printf '  %s: %s us, %s us above the floor of its ticket kind\n' \
		    "$g" "$v" "$(awk -v a="$v" -v b="$f" 'BEGIN { printf "%.0f", a - b }')"
	done
	best=$(best_peer hs_cpu)
	m=${R[mwgd.hs_cpu]:-}
	[ -n "$best" ] && [ -n "$m" ] || return 0
	awk -v b="${best%% *}" -v who="${best#* }" -v f="$cache" 'BEGIN {
		t = 0.67 * b
		printf "  0.67 x the best peer (%s) = %.0f us: %.0f us above the" \
		    " floor for everything a gateway adds (the dial to the" \
		    " target, its echo, the CONNECT, policy, audit)\n", who, t, t - f }'
}

table() {
	local m g b
	printf '%-42s %8s %8s %8s %8s %6s %6s %6s %15s %6s  %s\n' \
	    "metric (median of" mwgd haproxy stunnel nginx m/hapx m/stun \
	    m/ngnx "best peer" m/best better
	printf '%-42s\n' " $ROUNDS rounds; memory once)"
	for m in $METRICS; do
		printf '%-42s' "${LABEL[$m]}"
		for g in mwgd $PEERS; do
			printf ' %8s' "${R[$g.$m]:-n/a}"
		done
		b=$(best_peer "$m")
		if [ "${BETTER[$m]}" = - ]; then
			printf ' %6s %6s %6s %15s %6s  %s\n' "" "" "" "" "" -
			continue
		fi
		for g in $PEERS; do
			printf ' %6s' "$(ratio "${R[mwgd.$m]:-}" "${R[$g.$m]:-}")"
		done
		printf ' %15s %6s  %s\n' "${b:-n/a}" \
		    "$(ratio "${R[mwgd.$m]:-}" "${b%% *}")" "${BETTER[$m]}"
	done
}

# ---- run ---------------------------------------------------------------------
ROUNDS=${BENCH_ROUNDS:-3}
ROUNDS_BUDGET=${BENCH_ROUNDS_BUDGET:-140}	# seconds: no new round starts after this
for p in $P_DISCARD $P_SOURCE $P_ECHO $P_MWGD $((P_HAPROXY + 0)) \
    $((P_HAPROXY + 1)) $((P_HAPROXY + 2)) $((P_STUNNEL + 0)) \
    $((P_STUNNEL + 1)) $((P_STUNNEL + 2)) $((P_NGINX + 0)) \
    $((P_NGINX + 1)) $((P_NGINX + 2)) $P_FLOOR $((P_FLOOR + 1)); do
	if awk -v p="$(printf ':%04X' "$p")" '$2 ~ p"$" && $4 == "0A" { f = 1 }
	    END { exit !f }' /proc/net/tcp; then
		log "port $p is in use: set BENCH_PORT_BASE to a free range"
		exit 1
	fi
done

make_ca
start_backend discard "$P_DISCARD"
start_backend source "$P_SOURCE" --bytes "${BULK_MIB}m"
start_backend echo "$P_ECHO"

# All gateways start now and stay up; only the one measured is busy.
RAN=""
for gw in $GATEWAYS; do
	GW_WHY=""
	NEW_PID=""
	MEASURE_PID=""
	if "start_$gw"; then
		GW_PID[$gw]=${MEASURE_PID:-$NEW_PID}
		STATUS[$gw]="ran"
		RAN="$RAN $gw"
		log "$gw: started, pid ${GW_PID[$gw]} on CPU $GW_CPU"
	else
		STATUS[$gw]="n/a: $GW_WHY"
		log "$gw: $GW_WHY: reported as n/a"
		[ -n "$NEW_PID" ] && kill -TERM "$NEW_PID" 2>/dev/null
	fi
done

declare -A FLOOR_PID FLOOR_V
FLOORS=""
for k in $FLOOR_KINDS; do
	p=$P_FLOOR
	[ "$k" = stateless ] && p=$((P_FLOOR + 1))
	start_floor "$k" "$p" && FLOORS="$FLOORS $k:$p"
done
for gw in $RAN; do
	log "$gw: $IDLE_COUNT idle tunnels"
	measure_idle "$gw"
done
# Rounds interleave the gateways, so a disturbance on this machine
# (another build, a noisy neighbour) spreads over all of them alike.
for ((round = 1; round <= ROUNDS; round++)); do
	if [ "$round" -gt 1 ] && [ "$SECONDS" -gt "$ROUNDS_BUDGET" ]; then
		log "over ${ROUNDS_BUDGET} s: stopping after $((round - 1)) rounds"
		ROUNDS=$((round - 1))
		break
	fi
	for gw in $RAN; do
		log "round $round/$ROUNDS: $gw"
		measure_round "$gw"
	done
	for f in $FLOORS; do
		log "round $round/$ROUNDS: the OpenSSL floor, ${f%%:*} ticket"
		measure_floor "${f%%:*}" "${f#*:}"
	done
done
for gw in $RAN; do
	if ! kill -0 "${GW_PID[$gw]}" 2>/dev/null; then
		STATUS[$gw]="${STATUS[$gw]}, DIED during the run"
	fi
	for m in $METRICS; do
		# shellcheck disable=SC2086
		[ -n "${V[$gw.$m]:-}" ] && R[$gw.$m]=$(median ${V[$gw.$m]})
	done
done

mkdir -p "$RESULTS"
{
	echo "mwg benchmark, $(date -u +%Y-%m-%dT%H:%MZ)," \
	    "$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
	echo "host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1), Linux $(uname -r)," \
	    "load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
	echo "gateway on CPU $GW_CPU; load generator and backends on CPU $LG_CPU"
	echo "CA: $CA_HOW"
	for g in mwgd $PEERS; do
		echo "$g: ${STATUS[$g]:-not run}${TLS_INFO[$g]:+; ${TLS_INFO[$g]}}"
	done
	echo "haproxy: $(haproxy -v 2>/dev/null | head -n 1)"
	echo "stunnel: $(stunnel4 -version 2>&1 | grep -m 1 '^stunnel')"
	echo "nginx: $(nginx -v 2>&1 | head -n 1) (stream module, 1 worker;" \
	    "its CPU and memory are the worker's)"
	echo "machine load: the 2 CPUs are shared with other work (builds," \
	    "tests); load average at the end $(cut -d ' ' -f 1-3 /proc/loadavg)"
	echo
	table
	echo
	[ -n "$FLOORS" ] && floor_report
	if [ -x "$BIN/tls_floor" ]; then
		echo "OpenSSL's own heap per idle server connection (bench/tls_floor.c," \
		    "same settings, no gateway around it):" \
		    "$("$BIN/tls_floor" "$T/ca" "$T/ca/client" 2>/dev/null |
		    sed -n 's/.*KiB=\([0-9.]*\).*/\1 KiB/p')"
	fi
	if [ -x "$BIN/audit_bench" ]; then
		echo "audit trail (bench/audit_bench.c, the real writer, fdatasync per group," \
		    "4 producer threads x 100000 records; target >= 50000/s):"
		"$BIN/audit_bench" "$T" 4 100000 2>/dev/null | sed 's/^result /  /'
		echo "  (audit_latency is what a tunnel.open waits for before its first byte)"
	fi
	policy_section "$T"
	echo "ratio = mwgd / peer (m/... columns; m/best against the best peer of" \
	    "the row); 'better' says which direction is better."
	echo "n/a = not measured (not built, did not start, or that test failed)."
	for line in "${NOTES[@]}"; do
		echo "note: $line"
	done
	echo
	echo "raw loadgen lines:"
	for line in "${RAW[@]}"; do
		[ -n "$line" ] && printf '  %s\n' "$line"
	done
	[ "$ONLY_TLS" = 1 ] || { echo && "$HERE/ssh_bench.sh" "$BUILD"; }
} >"$T/report.txt"
cp "$T/report.txt" "$RESULTS/latest.txt"
cat "$T/report.txt"
if [ -s "$T/loadgen.err" ]; then
	log "loadgen errors (first 10 of $(wc -l <"$T/loadgen.err")):"
	head -n 10 "$T/loadgen.err" >&2
fi
