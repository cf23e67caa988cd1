#!/bin/bash
# bench/ssh_bench.sh BUILD_DIR [idle|churn]: mwgd's SSH jump listener against OpenSSH's
# sshd as a jump host, both in this run, each on one pinned CPU, both
# forwarding direct-tcpip channels to the same stand-in backends, all on
# 127.0.0.1. Measures new connections per second (key exchange, publickey,
# one channel, a few bytes, close), private memory per idle tunnel, and
# bulk MB/s through one channel. "idle": bulk both ways and the servers'
# CPU with 100 and with 1,000 idle tunnels open; "churn": 3 long downloads
# while 16 clients connect and disconnect. The client is bench/ssh_load (libssh in
# one process), so no ssh program start-up is counted. Builds nothing;
# prints a table and writes it to bench/results/ssh-latest.txt.
# Knobs (environment, see bench/README.md): BENCH_SSH_PORT_BASE (19500),
# BENCH_SSH_SECONDS (8), BENCH_SSH_CONC (16), BENCH_SSH_IDLE (100),
# BENCH_SSH_BULK_MIB (256), BENCH_SSH_ROUNDS (3), BENCH_SSH_IDLE_BIG (1000),
# BENCH_SSH_IDLE_CPU_S (30), BENCH_SSH_CHURN_S (20), BENCH_SSHD
# (/usr/sbin/sshd), BENCH_KEEP=1 to keep the scratch directory.
set -u

BUILD=${1:?usage: bench/ssh_bench.sh BUILD_DIR [idle|churn]}
MODE=${2:-all}
case $MODE in all|idle|churn) ;; *) echo "ssh-bench: unknown mode $MODE" >&2; exit 2 ;; esac
BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || {
	echo "ssh-bench: no $BUILD/bin (run make BUILD=$BUILD all first)" >&2
	exit 1
}
HERE=$(cd "$(dirname "$0")" && pwd)
PORT_BASE=${BENCH_SSH_PORT_BASE:-19500}
CONN_SECONDS=${BENCH_SSH_SECONDS:-8}
CONC=${BENCH_SSH_CONC:-16}
IDLE=${BENCH_SSH_IDLE:-100}
BULK_MIB=${BENCH_SSH_BULK_MIB:-256}
ROUNDS=${BENCH_SSH_ROUNDS:-3}
IDLE_BIG=${BENCH_SSH_IDLE_BIG:-1000}
IDLE_CPU_S=${BENCH_SSH_IDLE_CPU_S:-30}	# with IDLE_BIG open; a third with 100
CHURN_S=${BENCH_SSH_CHURN_S:-20}
ROUNDS_BUDGET=120	# seconds: no new round starts after this
SSHD=${BENCH_SSHD:-/usr/sbin/sshd}
START_TIMEOUT=10
PRACTICE=K84001
USER_NAME=nobody	# a real account: sshd needs one, mwgd reads its groups
DEVICE=bench-ssh

P_ECHO=$((PORT_BASE + 1))
P_DISCARD=$((PORT_BASE + 2))
P_SOURCE=$((PORT_BASE + 3))
P_TLS=$((PORT_BASE + 10))	# mwgd needs a TLS listener; unused here
P_MWGD=$((PORT_BASE + 11))
P_SSHD=$((PORT_BASE + 20))

# As bench/run.sh: the server on CPU 0, load and backends on CPU 1.
GW_CPU=0
LG_CPU=1
[ "$(nproc)" -lt 2 ] && LG_CPU=0

BENCH_LOG_PREFIX=ssh-bench
BENCH_EXTRA_PIDS_FN=sshd_children
. "$(dirname "$0")/lib.sh"

for tool in mwgd mwgctl mwg-testcert mwg-backend ssh_load ssh_session; do
	[ -x "$BIN/$tool" ] || { log "$BIN/$tool missing (make BUILD=$BUILD all)"; exit 1; }
done
for tool in "$SSHD" ssh-keygen taskset; do
	command -v "$tool" >/dev/null || { log "$tool missing (deploy/deps.sh build bench)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { log "run as root: mwgd drops to nobody, sshd needs root"; exit 1; }
for p in $P_ECHO $P_DISCARD $P_SOURCE $P_TLS $P_MWGD $P_SSHD; do
	if awk -v p="$(printf ':%04X' "$p")" '$2 ~ p"$" && $4 == "0A" { f = 1 }
	    END { exit !f }' /proc/net/tcp; then
		log "port $p is in use: set BENCH_SSH_PORT_BASE to a free range"
		exit 1
	fi
done

chmod 755 "$T"
# Every process of the tree under pid (pid first), from ps.
tree_pids() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
	    { kids[$2] = kids[$2] " " $1 }
	    END { q[1] = root; n = 1
		for (i = 1; i <= n; i++) { print q[i]
			m = split(kids[q[i]], k, " ")
			for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}
# sshd's connection processes, stopped with the rest (bench/lib.sh).
sshd_children() {
	[ -n "${SSHD_PID:-}" ] && tree_pids "$SSHD_PID" | tail -n +2
}

# ---- set-up ------------------------------------------------------------------
# One device key for both servers: mwgd knows it from the state store (as
# enrolment would leave it) with a live session (as mwg login would), sshd
# from an authorized_keys file. Both then do the same publickey check.
setup_keys() {
	"$BIN/mwgctl" ca init --dir "$T/ca" --host 127.0.0.1 >"$T/ca.log" 2>&1 &&
	mkdir -p "$T/mwgd/state" &&
	"$BIN/mwg-testcert" --ca-dir "$T/ca" --id "$DEVICE" --out "$T/dev" \
	    --store "$T/mwgd/state" --owner "$USER_NAME" >>"$T/ca.log" 2>&1 &&
	"$BIN/ssh_session" "$T/mwgd/state" "$DEVICE" "$USER_NAME" 3600 &&
	ssh-keygen -y -f "$T/dev.key" >"$T/dev.pub" || return 1
	chmod 755 "$T/ca"
	chgrp nogroup "$T/ca/server.key" && chmod 640 "$T/ca/server.key"
	chown -R nobody:nogroup "$T/mwgd/state"
}

start_backend() {	# MODE PORT [ARGS]
	local mode=$1 port=$2
	shift 2
	taskset -c "$LG_CPU" "$BIN/mwg-backend" --listen "127.0.0.1:$port" \
	    --mode "$mode" "$@" >"$T/backend-$mode.log" 2>&1 &
	PIDS+=("$!")
	wait_listen "$port" $! || { log "backend $mode did not start"; exit 1; }
}

start_mwgd() {
	local d=$T/mwgd
	cat >"$d/policy.conf" <<-EOF
	practice $PRACTICE "Bench practice" {
	    target echo    127.0.0.1:$P_ECHO
	    target discard 127.0.0.1:$P_DISCARD
	    target source  127.0.0.1:$P_SOURCE
	}
	role bench {
	    users     $USER_NAME
	    practices *
	    targets   *
	}
	EOF
	cat >"$d/mwgd.conf" <<-EOF
	user nobody
	group nogroup
	state-dir $d/state
	workers 1
	policy $d/policy.conf
	control $d/control.sock
	audit {
	    file $d/audit.jsonl
	}
	limits {
	    connections 20000
	    worker-connections 20000
	}
	timeouts {
	    connect 10s
	    idle 30m
	}
	listen tls 127.0.0.1:$P_TLS {
	    certificate $T/ca/server.pem
	    key $T/ca/server.key
	    ca $T/ca/issuing.pem
	}
	listen ssh 127.0.0.1:$P_MWGD {
	    max-startups 1000:30:1000
	    per-source-max-startups 1000
	}
	EOF
	taskset -c "$GW_CPU" "$BIN/mwgd" -f "$d/mwgd.conf" >"$T/mwgd.log" 2>&1 &
	MWGD_PID=$!
	PIDS+=("$MWGD_PID")
	wait_listen "$P_MWGD" "$MWGD_PID" ||
	    { log "mwgd did not start: $(tail -n 2 "$T/mwgd.log")"; exit 1; }
	ssh-keygen -y -f "$d/state/ssh_host_ed25519_key" >"$T/mwgd-host.pub" ||
	    { log "mwgd made no Ed25519 host key"; exit 1; }
}

# sshd as a jump host only: publickey for one key, forwarding, nothing
# else; the algorithms the load generator offers, so both servers run the
# same cryptography. MaxStartups above the load's concurrency, or sshd
# drops connections still authenticating.
start_sshd() {
	local d=$T/sshd
	mkdir -p "$d"
	ssh-keygen -q -t ed25519 -N '' -C bench -f "$d/host_ed25519" || return 1
	install -m 644 "$T/dev.pub" "$d/authorized_keys"
	cat >"$d/sshd_config" <<-EOF
	ListenAddress 127.0.0.1:$P_SSHD
	HostKey $d/host_ed25519
	PidFile none
	AuthorizedKeysFile $d/authorized_keys
	StrictModes no
	UsePAM no
	AuthenticationMethods publickey
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitRootLogin no
	AllowUsers $USER_NAME
	KexAlgorithms curve25519-sha256
	HostKeyAlgorithms ssh-ed25519
	PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256
	Ciphers chacha20-poly1305@openssh.com
	MACs hmac-sha2-256-etm@openssh.com
	Compression no
	AllowTcpForwarding yes
	PermitTTY no
	X11Forwarding no
	AllowAgentForwarding no
	PermitTunnel no
	PrintMotd no
	UseDNS no
	MaxStartups 1000
	LoginGraceTime 30
	EOF
	# Privilege separation's chroot; the openssh-server package makes it
	# at boot (tmpfiles), a container may not have it.
	[ -d /run/sshd ] || mkdir -m 755 /run/sshd
	"$SSHD" -t -f "$d/sshd_config" 2>"$T/sshd.log" ||
	    { log "sshd refuses its config: $(head -n 2 "$T/sshd.log")"; return 1; }
	taskset -c "$GW_CPU" "$SSHD" -D -f "$d/sshd_config" -E "$T/sshd.log" &
	SSHD_PID=$!
	PIDS+=("$SSHD_PID")
	wait_listen "$P_SSHD" "$SSHD_PID" || { log "sshd did not start"; return 1; }
	cp "$d/host_ed25519.pub" "$T/sshd-host.pub"
}

# ---- measurements ------------------------------------------------------------
declare -A V R SPID CRASHES
RAW=()
NOTES=()

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

load() {	# SERVER SECONDS_LIMIT MODE ARGS...: one bounded ssh_load run
	local srv=$1 limit=$2 port
	shift 2
	port=$P_MWGD
	[ "$srv" = sshd ] && port=$P_SSHD
	# exec: run in the background, $! is timeout's pid and a TERM to it
	# reaches ssh_load (a subshell would die and leave it running).
	exec timeout -k 5 "$limit" taskset -c "$LG_CPU" "$BIN/ssh_load" "$@" \
	    --addr "127.0.0.1:$port" --user "$USER_NAME" --key "$T/dev.key" \
	    --hostkey "$T/$srv-host.pub" --label "$srv" 2>>"$T/load.err"
}
run_load() { (load "$@"); }	# in the foreground: exec in a subshell

target() {	# SERVER BACKEND: the direct-tcpip destination
	local port
	case $2 in echo) port=$P_ECHO ;; discard) port=$P_DISCARD ;;
	source) port=$P_SOURCE ;; esac
	if [ "$1" = mwgd ]; then
		echo "$2.$PRACTICE:$port"
	else
		echo "127.0.0.1:$port"
	fi
}

# Private_Dirty of pid and every process under it (sshd forks two per
# connection: the privileged monitor and the session as the user).
dirty_kib() {
	local p sum=0 v
	for p in $(tree_pids "$1"); do
		v=$(awk '/^Private_Dirty:/ { print $2 }' \
		    "/proc/$p/smaps_rollup" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

HZ=$(getconf CLK_TCK)
# utime + stime of pid and every live process under it (sshd's connection
# processes), plus what they reaped, in clock ticks.
tree_ticks() {
	tree_pids "$1" | sed 's|.*|/proc/&/stat|' | xargs cat 2>/dev/null |
	    awk '{ sub(/.*\) /, ""); s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}

keep() {	# SERVER METRIC VALUE
	[ -n "$3" ] && V[$1.$2]="${V[$1.$2]:-} $3"
}

measure_idle() {	# SERVER
	local srv=$1 pid=${SPID[$1]} before after out=$T/idle-$1.out lpid i n
	run_load "$srv" 30 connect --seconds 1 --concurrency 2 \
	    --target "$(target "$srv" echo)" >/dev/null
	sleep 1
	before=$(dirty_kib "$pid")
	load "$srv" 90 idle --count "$IDLE" --seconds 60 \
	    --target "$(target "$srv" echo)" >"$out" &	# exec: $! is timeout
	lpid=$!
	PIDS+=("$lpid")
	for ((i = 0; i < 600; i++)); do
		grep -q '^ready' "$out" && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "^ready.* count=$IDLE\$" "$out" && kill -0 "$pid" 2>/dev/null
	then
		sleep 1		# the server's side of the last opens
		after=$(dirty_kib "$pid")
		n=$(tree_pids "$pid" | wc -l)
		V[$srv.mem]=$(awk -v a="$after" -v b="$before" -v k="$IDLE" \
		    'BEGIN { printf "%.1f", (a - b) / k }')
		RAW+=("idle $srv: Private_Dirty KiB before=$before after=$after\
 processes=$n; $(head -n 1 "$out")")
		# The same server with those tunnels open: one busy tunnel.
		measure_bulk "$srv" send bulk_idle
		measure_bulk "$srv" recv bulk_idle_recv
	else
		log "$srv: could not open $IDLE idle tunnels"
		NOTES+=("$srv: could not open $IDLE idle tunnels (see $T/load.err)")
	fi
	kill -TERM "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	sleep 1		# the servers see the connections end
}

measure_conn() {	# SERVER CONCURRENCY SECONDS METRIC: one connect run
	local srv=$1 pid=${SPID[$1]} c0 c1 line ok cpu=""
	c0=$(tree_ticks "$pid")
	line=$(run_load "$srv" $(($3 + 40)) connect --seconds "$3" \
	    --concurrency "$2" --target "$(target "$srv" echo)" | grep '^result')
	sleep 1		# sshd reaps the last connections: their CPU counts
	# The tree: mwgd's network process (which does the SSH work) is a
	# live child of its monitor; sshd's reaped children count in cutime.
	if c1=$(tree_ticks "$pid" 2>/dev/null) && [ -n "$c1" ] && [ -n "$c0" ]; then
		cpu=$(( (c1 - c0) * 1000 / HZ ))
	fi
	RAW+=("${line:-connect $srv: no result} server_cpu_ms=${cpu:-n/a}")
	alive "$srv" "the connect test (concurrency $2)" || return
	[ -n "$line" ] || return
	ok=$(field "$line" ok)
	if [ "$4" = conn1 ]; then
		keep "$srv" conn1 "$(field "$line" mean_ms)"
		return
	fi
	keep "$srv" conn "$(field "$line" per_s)"
	keep "$srv" conn_ms "$(field "$line" mean_ms)"
	[ "${ok:-0}" -gt 0 ] && [ -n "$cpu" ] && keep "$srv" conn_cpu \
	    "$(awk -v c="$cpu" -v n="$ok" 'BEGIN { printf "%.2f", c / n }')"
	[ "$(field "$line" failed)" != 0 ] &&
	    NOTES+=("$srv: $(field "$line" failed) of $((ok + $(field "$line" failed))) connections failed in a round")
}

# Whether SERVER still runs; if it died, says so, keeps its exit status,
# and starts it again so that the remaining tests still measure it.
alive() {	# SERVER WHILE
	local rc=0
	kill -0 "${SPID[$1]}" 2>/dev/null && return 0
	wait "${SPID[$1]}" 2>/dev/null || rc=$?
	log "$1 DIED during $2 (exit status $rc$( [ "$rc" -gt 128 ] &&
	    echo ", signal $((rc - 128))")); starting it again"
	NOTES+=("$1 DIED during $2: exit status $rc$( [ "$rc" -gt 128 ] &&
	    echo " (signal $((rc - 128)))"); restarted for the next test")
	CRASHES[$1]=$((${CRASHES[$1]:-0} + 1))
	if [ "$1" = mwgd ]; then
		start_mwgd && SPID[mwgd]=$MWGD_PID
	else
		start_sshd && SPID[sshd]=$SSHD_PID
	fi
	return 1
}

measure_bulk() {	# SERVER send|recv [METRIC]
	local srv=$1 dir=$2 metric=${3:-bulk_$2} backend=discard c0 c1 t0 t1 line
	[ "$dir" = recv ] && backend=source
	c0=$(tree_ticks "${SPID[$srv]}")
	t0=$(date +%s%N)
	line=$(run_load "$srv" 120 bulk "--$dir" "$BULK_MIB" \
	    --target "$(target "$srv" "$backend")" | grep '^result')
	t1=$(date +%s%N)
	sleep 0.2	# sshd's processes for it end and are reaped
	c1=$(tree_ticks "${SPID[$srv]}" 2>/dev/null)
	RAW+=("[$metric] ${line:-bulk $dir $srv: no result}\
 server_cpu_ms=$(( (${c1:-0} - ${c0:-0}) * 1000 / HZ )) wall_ms=$(((t1 - t0) / 1000000))")
	alive "$srv" "the bulk $dir test" || return
	[ "$(field "$line" confirmed)" = 1 ] || return
	keep "$srv" "$metric" "$(field "$line" MBps)"
	# CPU per transfer: steadier than MB/s on a shared machine.
	keep "$srv" "${metric}_cpu" $(( (${c1:-0} - ${c0:-0}) * 1000 / HZ ))
}

# "idle" mode: N idle tunnels (opened 16 at a time), the server's CPU
# while they sit idle for IDLE_CPU_S seconds, then one bulk upload and
# one download beside them.
measure_idle_n() {	# SERVER N SECONDS
	local srv=$1 n=$2 secs=$3 pid=${SPID[$1]} out=$T/idle$2-$1.out lpid i t0 t1
	load "$srv" $((IDLE_CPU_S + 150)) idle --count "$n" --concurrency 16 \
	    --seconds $((IDLE_CPU_S + 120)) --target "$(target "$srv" echo)" \
	    >"$out" &	# exec: $! is timeout
	lpid=$!
	PIDS+=("$lpid")
	for ((i = 0; i < 1200; i++)); do
		grep -q '^ready' "$out" && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "^ready.* count=$n\$" "$out" && kill -0 "$pid" 2>/dev/null; then
		sleep 2		# the server's side of the last opens
		t0=$(tree_ticks "$pid")
		sleep "$secs"
		t1=$(tree_ticks "$pid")
		keep "$srv" "idle_cpu$n" $((t1 - t0))
		keep "$srv" "open$n" "$(sed -n 's/.*opened_s=\([0-9.]*\).*/\1/p' "$out")"
		RAW+=("idle $n $srv: $(head -n 1 "$out"); CPU ticks over $secs s idle: $((t1 - t0)) ($(tree_pids "$pid" | wc -l) processes)")
		measure_bulk "$srv" send "bulk_send$n"
		measure_bulk "$srv" recv "bulk_recv$n"
	else
		log "$srv: could not open $n idle tunnels"
		NOTES+=("$srv: could not open $n idle tunnels ($(head -n 1 "$out"))")
	fi
	kill -TERM "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	alive "$srv" "the $n idle tunnels test"
	# sshd's connection processes end before the next test.
	for ((i = 0; i < 100; i++)); do
		[ "$(tree_pids "${SPID[$srv]}" | wc -l)" -le 1 ] && break
		sleep 0.1
	done
}

# "churn" mode: 3 downloads of BULK_MIB (every byte checked) while 16
# clients connect, echo and disconnect for CHURN_S seconds.
measure_churn() {	# SERVER
	local srv=$1 i pids=() ok=0 line c0 c1 cl
	c0=$(tree_ticks "${SPID[$srv]}")
	for i in 1 2 3; do
		load "$srv" $((CHURN_S + 100)) bulk --recv "$BULK_MIB" \
		    --target "$(target "$srv" source)" >"$T/churn-$srv-$i.out" &
		pids+=($!)
	done
	cl=$(run_load "$srv" $((CHURN_S + 40)) connect --seconds "$CHURN_S" \
	    --concurrency 16 --target "$(target "$srv" echo)" | grep '^result')
	for i in 1 2 3; do
		wait "${pids[$((i - 1))]}"
		line=$(grep '^result' "$T/churn-$srv-$i.out")
		RAW+=("[churn download $i] ${line:-$srv: no result}")
		if [ "$(field "$line" confirmed)" = 1 ]; then
			ok=$((ok + 1))
			keep "$srv" churn_dl "$(field "$line" MBps)"
		fi
	done
	c1=$(tree_ticks "${SPID[$srv]}" 2>/dev/null)
	RAW+=("[churn connect] ${cl:-$srv: no result} server_ticks=$((${c1:-0} - c0))")
	keep "$srv" churn_ok "$ok"
	keep "$srv" churn_conn "$(field "$cl" per_s)"
	keep "$srv" churn_fail "$(field "$cl" failed)"
	alive "$srv" "the churn test"
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) print v[int((NR + 1) / 2)] }'
}

ratio() {
	[ -n "$1" ] && [ -n "$2" ] || { echo n/a; return; }
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b <= 0 || a < 0) print "n/a"; else printf "%.3g", a / b }'
}

METRICS="conn conn_cpu conn_ms conn1 mem bulk_send bulk_send_cpu bulk_recv
	bulk_recv_cpu bulk_idle bulk_idle_cpu bulk_idle_recv bulk_idle_recv_cpu"
[ "$MODE" = idle ] && METRICS="open100 idle_cpu100 bulk_send100 bulk_send100_cpu
	bulk_recv100 bulk_recv100_cpu open$IDLE_BIG idle_cpu$IDLE_BIG
	bulk_send$IDLE_BIG bulk_send${IDLE_BIG}_cpu bulk_recv$IDLE_BIG
	bulk_recv${IDLE_BIG}_cpu"
[ "$MODE" = churn ] && METRICS="churn_ok churn_dl churn_conn churn_fail"
declare -A LABEL=(
	[conn]="new connections/s ($CONC conc, ${CONN_SECONDS} s)"
	[conn_cpu]="  server CPU ms per connection"
	[conn_ms]="  mean time per connection, ms"
	[conn1]="time per connection, one at a time, ms"
	[mem]="Private_Dirty KiB per idle tunnel ($IDLE)"
	[bulk_send]="bulk upload MB/s ($BULK_MIB MiB, 1 channel)"
	[bulk_recv]="bulk download MB/s ($BULK_MIB MiB)"
	[bulk_idle]="bulk upload MB/s, $IDLE idle tunnels open"
	[bulk_idle_recv]="bulk download MB/s, $IDLE idle tunnels open"
	[open100]="seconds to open 100 tunnels (16 at once)"
	[idle_cpu100]="CPU ticks, 100 idle tunnels, $((IDLE_CPU_S / 3)) s"
	[bulk_send100]="bulk upload MB/s, 100 idle open"
	[bulk_recv100]="bulk download MB/s, 100 idle open"
	[open$IDLE_BIG]="seconds to open $IDLE_BIG tunnels (16 at once)"
	[idle_cpu$IDLE_BIG]="CPU ticks, $IDLE_BIG idle tunnels, ${IDLE_CPU_S} s"
	[bulk_send$IDLE_BIG]="bulk upload MB/s, $IDLE_BIG idle open"
	[bulk_recv$IDLE_BIG]="bulk download MB/s, $IDLE_BIG idle open"
	[bulk_send_cpu]="  server CPU ms per upload"
	[bulk_recv_cpu]="  server CPU ms per download"
	[bulk_idle_cpu]="  server CPU ms per upload"
	[bulk_idle_recv_cpu]="  server CPU ms per download"
	[bulk_send100_cpu]="  server CPU ms per upload"
	[bulk_recv100_cpu]="  server CPU ms per download"
	[bulk_send${IDLE_BIG}_cpu]="  server CPU ms per upload"
	[bulk_recv${IDLE_BIG}_cpu]="  server CPU ms per download"
	[churn_ok]="downloads whole (of 3 x $BULK_MIB MiB)"
	[churn_dl]="download MB/s each, during churn"
	[churn_conn]="churn connections/s (16 conc, ${CHURN_S} s)"
	[churn_fail]="churn connections failed"
)
declare -A BETTER=([conn]=higher [conn_cpu]=lower [conn_ms]=lower [conn1]=lower
	[mem]=lower [bulk_send]=higher [bulk_recv]=higher [bulk_idle]=higher
	[bulk_idle_recv]=higher [open100]=lower [idle_cpu100]=lower
	[bulk_send100]=higher [bulk_recv100]=higher [open$IDLE_BIG]=lower
	[idle_cpu$IDLE_BIG]=lower [bulk_send$IDLE_BIG]=higher
	[bulk_recv$IDLE_BIG]=higher [churn_ok]=higher [churn_dl]=higher
	[churn_conn]=higher [churn_fail]=lower [bulk_send_cpu]=lower
	[bulk_recv_cpu]=lower [bulk_idle_cpu]=lower [bulk_idle_recv_cpu]=lower
	[bulk_send100_cpu]=lower [bulk_recv100_cpu]=lower
	[bulk_send${IDLE_BIG}_cpu]=lower [bulk_recv${IDLE_BIG}_cpu]=lower)
declare -A GOAL=([conn]=">= 10" [mem]="<= 0.1" [bulk_send]=">= 1"
	[bulk_recv]=">= 1" [bulk_idle]=">= 1" [bulk_idle_recv]=">= 1"
	[bulk_send100]=">= 1" [bulk_recv100]=">= 1" [bulk_send$IDLE_BIG]=">= 1"
	[bulk_recv$IDLE_BIG]=">= 1" [idle_cpu$IDLE_BIG]="mwgd 0"
	[idle_cpu100]="mwgd 0" [churn_ok]="3 each")

table() {
	local m r
	printf '%-44s %9s %9s %9s  %-7s %s\n' "metric (median of $ROUNDS" \
	    mwgd sshd mwgd/sshd better target
	printf '%-44s\n' " rounds; memory once)"
	for m in $METRICS; do
		r=$(ratio "${R[mwgd.$m]:-}" "${R[sshd.$m]:-}")
		printf '%-44s %9s %9s %9s  %-7s %s\n' "${LABEL[$m]}" \
		    "${R[mwgd.$m]:-n/a}" "${R[sshd.$m]:-n/a}" "$r" \
		    "${BETTER[$m]}" "${GOAL[$m]:-}"
	done
}

# ---- run ---------------------------------------------------------------------
setup_keys || { log "cannot make the keys, the device or its session (see $T/ca.log)"; exit 1; }
start_backend echo "$P_ECHO"
start_backend discard "$P_DISCARD"
start_backend source "$P_SOURCE" --bytes "${BULK_MIB}m"
start_mwgd
SPID[mwgd]=$MWGD_PID
start_sshd || exit 1
SPID[sshd]=$SSHD_PID
log "mwgd pid $MWGD_PID and sshd pid $SSHD_PID on CPU $GW_CPU; load on CPU $LG_CPU"

if [ "$MODE" = idle ]; then
	# One round: each size for each server in turn (mwgd, sshd, ...).
	ROUNDS=1
	for n in 100 "$IDLE_BIG"; do
		secs=$IDLE_CPU_S
		[ "$n" = 100 ] && secs=$((IDLE_CPU_S / 3))
		for srv in mwgd sshd; do
			log "$srv: $n idle tunnels, $secs s idle, bulk both ways"
			measure_idle_n "$srv" "$n" "$secs"
		done
	done
elif [ "$MODE" = churn ]; then
	ROUNDS=1
	for srv in mwgd sshd; do
		log "$srv: 3 downloads of $BULK_MIB MiB while 16 clients churn"
		measure_churn "$srv"
	done
else
	for srv in mwgd sshd; do
		log "$srv: $IDLE idle tunnels"
		measure_idle "$srv"
		alive "$srv" "the idle test"
		log "$srv: connections one at a time"
		measure_conn "$srv" 1 4 conn1
	done
	# Rounds interleave the servers; bulk first, as the connection storm is
	# what has crashed mwgd (see bench/README.md).
	for ((round = 1; round <= ROUNDS; round++)); do
		if [ "$round" -gt 1 ] && [ "$SECONDS" -gt "$ROUNDS_BUDGET" ]; then
			log "over ${ROUNDS_BUDGET} s: stopping after $((round - 1)) rounds"
			ROUNDS=$((round - 1))
			break
		fi
		for srv in mwgd sshd; do
			log "round $round/$ROUNDS: $srv"
			measure_bulk "$srv" send
			measure_bulk "$srv" recv
			measure_conn "$srv" "$CONC" "$CONN_SECONDS" conn
		done
	done
fi
for srv in mwgd sshd; do
	for m in $METRICS; do
		# shellcheck disable=SC2086
		[ -n "${V[$srv.$m]:-}" ] && R[$srv.$m]=$(median ${V[$srv.$m]})
	done
done

{
	echo "SSH jump host benchmark, $(date -u +%Y-%m-%dT%H:%MZ)," \
	    "$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
	echo "host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1), load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
	echo "server on CPU $GW_CPU; bench/ssh_load (libssh $(pkg-config \
	    --modversion libssh 2>/dev/null)) and backends on CPU $LG_CPU"
	echo "mwgd: listen ssh, workers 1, device key + live session;" \
	    "sshd: $("$SSHD" -V 2>&1 | head -n 1), publickey"
	echo "both: curve25519-sha256, ssh-ed25519 host key," \
	    "chacha20-poly1305, ecdsa-sha2-nistp256 client key"
	echo
	table
	echo
	echo "ratio = mwgd / sshd; 'better' says which direction is better."
	echo "sshd's memory and CPU include every process it forked."
	echo "machine load: the 2 CPUs are shared with other work (builds," \
	    "tests); figures are noisy, compare ratios within this run"
	echo "server restarts after a crash: mwgd ${CRASHES[mwgd]:-0}, sshd ${CRASHES[sshd]:-0}"
	for line in "${NOTES[@]}"; do
		echo "note: $line"
	done
	echo
	echo "raw lines:"
	for line in "${RAW[@]}"; do
		printf '  %s\n' "$line"
	done
} >"$T/report.txt"
mkdir -p "$HERE/results"
cp "$T/report.txt" "$HERE/results/ssh-$([ "$MODE" = all ] && echo latest || echo "$MODE-latest").txt"
cat "$T/report.txt"
if [ -s "$T/load.err" ]; then
	log "ssh_load errors (first 10 of $(wc -l <"$T/load.err")):"
	head -n 10 "$T/load.err" >&2
fi
