#!/bin/bash
# bench/tunnels_bench.sh BUILD_DIR: many idle tunnels at once. mwgd starts
# with a soft descriptor limit of 1,024 and raises it itself (its log line
# says how many tunnels fit); then N idle mutual-TLS tunnels through mwgd
# and through HAProxy, and N idle SSH tunnels through mwgd (sshd would
# need two processes per tunnel: see ssh_bench.sh for it at 100 and
# 1,000), each on a freshly started gateway. Reports the time to open
# them, private KiB per tunnel and the gateway's CPU while they sit idle.
# Each gateway gets BENCH_TUNNELS_OPEN_S to open them (bounded run): if
# fewer opened by then (a loaded machine), the openers are stopped and the
# figures are over the tunnels that are open, counted by the kernel.
# Knobs: BENCH_TUNNELS (10000; fewer if the hard descriptor limit cannot
# be raised), BENCH_TUNNELS_OPEN_S (40), BENCH_TUNNELS_IDLE_S (10),
# BENCH_TUNNELS_PORT_BASE (19600), BENCH_KEEP=1. Needs root (raises the hard limit; mwgd drops to nobody).
set -u

BUILD=${1:?usage: bench/tunnels_bench.sh BUILD_DIR}
BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || {
	echo "tunnels-bench: no $BUILD/bin (run make BUILD=$BUILD all first)" >&2
	exit 1
}
HERE=$(cd "$(dirname "$0")" && pwd)
WANT=${BENCH_TUNNELS:-10000}
IDLE_S=${BENCH_TUNNELS_IDLE_S:-10}
PORT_BASE=${BENCH_TUNNELS_PORT_BASE:-19600}
OPENERS=4		# TLS openers at once (loadgen opens one at a time)
OPEN_LIMIT=${BENCH_TUNNELS_OPEN_S:-40}	# seconds to open them; then what is open counts
START_TIMEOUT=10
PRACTICE=K84001
P_ECHO=$((PORT_BASE + 1))
P_TLS=$((PORT_BASE + 10))
P_SSH=$((PORT_BASE + 11))
P_HAPROXY=$((PORT_BASE + 20))
GW_CPU=0
LG_CPU=1
[ "$(nproc)" -lt 2 ] && LG_CPU=0

BENCH_LOG_PREFIX=tunnels-bench
. "$HERE/lib.sh"

for tool in mwgd mwgctl mwg-testcert mwg-backend loadgen ssh_load ssh_session; do
	[ -x "$BIN/$tool" ] || { log "$BIN/$tool missing (make BUILD=$BUILD all)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { log "run as root: mwgd drops to nobody"; exit 1; }
for p in $P_ECHO $P_TLS $P_SSH $P_HAPROXY; do
	if awk -v p="$(printf ':%04X' "$p")" '$2 ~ p"$" && $4 == "0A" { f = 1 }
	    END { exit !f }' /proc/net/tcp; then
		log "port $p is in use: set BENCH_TUNNELS_PORT_BASE"
		exit 1
	fi
done

# Two descriptors per tunnel in the gateway, one in the client, one in the
# backend, all in this process tree: raise the hard limit if it is short.
NEED=$((2 * WANT + 4096))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$NEED" ]; then
	ulimit -Hn "$NEED" 2>/dev/null || log "cannot raise the hard descriptor limit to $NEED"
fi
ulimit -n "$(ulimit -Hn)"
HARD=$(ulimit -Hn)
chmod 755 "$T"

# ---- set-up ------------------------------------------------------------------
setup() {
	"$BIN/mwgctl" ca init --dir "$T/ca" --host 127.0.0.1 >"$T/ca.log" 2>&1 &&
	mkdir -p "$T/mwgd/state" &&
	"$BIN/mwg-testcert" --ca-dir "$T/ca" --id bench-1 --user bench \
	    --group bench --out "$T/client" >>"$T/ca.log" 2>&1 &&
	"$BIN/mwg-testcert" --ca-dir "$T/ca" --id bench-ssh --out "$T/dev" \
	    --store "$T/mwgd/state" --owner nobody >>"$T/ca.log" 2>&1 &&
	"$BIN/ssh_session" "$T/mwgd/state" bench-ssh nobody 3600 || return 1
	chmod 755 "$T/ca"
	chgrp nogroup "$T/ca/server.key" && chmod 640 "$T/ca/server.key"
	chown -R nobody:nogroup "$T/mwgd/state"
	cat "$T/ca/issuing.pem" "$T/ca/root.pem" >"$T/clientca.pem"
	(umask 077 && cat "$T/ca/server.pem" "$T/ca/server.key" >"$T/haproxy.pem")
	cat >"$T/mwgd/policy.conf" <<-EOF
	practice $PRACTICE "Bench practice" {
	    target echo 127.0.0.1:$P_ECHO
	}
	role bench {
	    users     nobody
	    groups    bench
	    practices *
	    targets   *
	}
	EOF
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
	limits {
	    connections $((WANT + 1000))
	    worker-connections $((WANT + 1000))
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
	listen ssh 127.0.0.1:$P_SSH {
	    max-startups 64:30:64
	    per-source-max-startups 64
	}
	EOF
}

# mwgd as a service manager would leave it: soft limit 1,024, hard HARD.
start_mwgd() {
	taskset -c "$GW_CPU" prlimit --nofile=1024:"$HARD" "$BIN/mwgd" \
	    -f "$T/mwgd/mwgd.conf" >"$T/mwgd.log" 2>&1 &
	GW=$!
	PIDS+=("$GW")
	wait_listen "$P_SSH" "$GW" || { log "mwgd did not start: $(tail -n 2 "$T/mwgd.log")"; exit 1; }
}

start_haproxy() {
	cat >"$T/haproxy.cfg" <<-EOF
	global
	    nbthread 1
	    maxconn $(( (HARD - 200) / 2 ))
	    log stdout format raw local0 info
	    ssl-default-bind-options ssl-min-ver TLSv1.2
	defaults
	    mode tcp
	    log global
	    option tcplog
	    timeout connect 10s
	    timeout client 30m
	    timeout server 30m
	frontend fe_echo
	    bind 127.0.0.1:$P_HAPROXY ssl crt $T/haproxy.pem ca-file $T/clientca.pem verify required
	    default_backend be_echo
	backend be_echo
	    server echo 127.0.0.1:$P_ECHO
	EOF
	taskset -c "$GW_CPU" haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
	GW=$!
	PIDS+=("$GW")
	wait_listen "$P_HAPROXY" "$GW" || { log "haproxy did not start"; return 1; }
}

stop_gw() {
	kill -TERM "$GW" 2>/dev/null
	wait "$GW" 2>/dev/null
}

# The gateway's process tree (mwgd: the monitor and its network process).
ticks() { tree_ticks "$1" | cut -d' ' -f1; }

# ---- one measurement ---------------------------------------------------------
declare -A R
RAW=()
NOTES=()

# Starts the openers of N tunnels (their output in $T/open-KIND.*).
openers() {	# KIND N
	local i each=$(( ($2 + OPENERS - 1) / OPENERS )) left=$2 n
	OPENER_PIDS=()
	case $1 in
	*-ssh)
		timeout -k 5 $((OPEN_LIMIT + IDLE_S + 60)) taskset -c "$LG_CPU" \
		    "$BIN/ssh_load" idle --count "$2" --concurrency 16 \
		    --seconds $((OPEN_LIMIT + IDLE_S + 30)) \
		    --addr "127.0.0.1:$P_SSH" --user nobody --key "$T/dev.key" \
		    --hostkey "$T/mwgd-host.pub" --target "echo.$PRACTICE:$P_ECHO" \
		    --label mwgd-ssh >"$T/open-ssh.0" 2>>"$T/load.err" &
		OPENER_PIDS+=($!)
		;;
	*)
		for ((i = 0; i < OPENERS && left > 0; i++)); do
			n=$each
			[ "$n" -gt "$left" ] && n=$left
			left=$((left - n))
				# shellcheck disable=SC2086
			timeout -k 5 $((OPEN_LIMIT + IDLE_S + 60)) taskset -c "$LG_CPU" \
			    "$BIN/loadgen" idle $3 --count "$n" \
			    --seconds $((OPEN_LIMIT + IDLE_S + 30)) \
			    --cert "$T/client.pem" --key "$T/client.key" \
			    --ca "$T/ca/root.pem" --label "$1" \
			    >"$T/open-$1.$i" 2>>"$T/load.err" &
			OPENER_PIDS+=($!)
		done
		;;
	esac
}

# Connections established to the gateway's port (server side).
established() {	# PORT
	ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l
}

# Opens N tunnels through the gateway GW (within OPEN_LIMIT), stops the
# openers where they are (their tunnels stay open), then measures.
measure() {	# KIND N PORT [loadgen address args]
	local kind=$1 n=$2 port=$3 m0 m1 t0 t1 c0 c1 i got p alive open
	sleep 1
	m0=$(tree_private_kib "$GW")
	t0=$(date +%s%N)
	openers "$kind" "$n" "${4:-}"
	for ((i = 0; i < OPEN_LIMIT * 10; i++)); do
		got=$(cat "$T"/open-"$kind".* 2>/dev/null | grep -c '^ready')
		[ "$got" -ge "${#OPENER_PIDS[@]}" ] && break
		alive=0
		for p in "${OPENER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 1 ] || break
		sleep 0.1
	done
	t1=$(date +%s%N)
	for p in "${OPENER_PIDS[@]}"; do pkill -STOP -P "$p" 2>/dev/null; done
	sleep 2		# the gateway's side of the last opens
	open=$(established "$port")
	m1=$(tree_private_kib "$GW")
	c0=$(ticks "$GW")
	sleep "$IDLE_S"
	c1=$(ticks "$GW")
	if [ "$open" -lt "$n" ]; then
		NOTES+=("$kind: $open of $n tunnels open after $OPEN_LIMIT s; figures are over those")
		R[$kind.open]=">$OPEN_LIMIT"
	else
		R[$kind.open]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	fi
	R[$kind.n]=$open
	[ "$open" -gt 0 ] &&
	    R[$kind.mem]=$(awk -v a="$m1" -v b="$m0" -v n="$open" 'BEGIN { printf "%.1f", (a - b) / n }')
	R[$kind.idle]=$((c1 - c0))
	RAW+=("$kind: $open of $n tunnels open; private KiB before=$m0 after=$m1; CPU ticks over $IDLE_S s idle: $((c1 - c0)); opening took $(((t1 - t0) / 1000000)) ms")
	for p in "${OPENER_PIDS[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

# ---- run ---------------------------------------------------------------------
setup || { log "set-up failed (see $T/ca.log)"; exit 1; }
taskset -c "$LG_CPU" "$BIN/mwg-backend" --listen "127.0.0.1:$P_ECHO" --mode echo \
    >"$T/backend.log" 2>&1 &
PIDS+=("$!")
wait_listen "$P_ECHO" $! || { log "backend did not start"; exit 1; }

start_mwgd
LIMIT_LINE=$(grep -m 1 -o 'descriptor limit.*' "$T/mwgd.log")
ROOM=$(sed -n 's/.*room for about \([0-9]*\) tunnels.*/\1/p' <<<"$LIMIT_LINE")
N=$WANT
[ -n "$ROOM" ] && [ "$ROOM" -lt "$N" ] && N=$ROOM
log "mwgd: $LIMIT_LINE; measuring $N tunnels"
ssh-keygen -y -f "$T/mwgd/state/ssh_host_ed25519_key" >"$T/mwgd-host.pub"
log "mwgd: $N idle TLS tunnels"
measure mwgd-tls "$N" "$P_TLS" "--addr 127.0.0.1:$P_TLS --connect echo.$PRACTICE:$P_ECHO"
stop_gw
if command -v haproxy >/dev/null && start_haproxy; then
	log "haproxy: $N idle TLS tunnels"
	measure haproxy-tls "$N" "$P_HAPROXY" "--addr 127.0.0.1:$P_HAPROXY"
	stop_gw
else
	NOTES+=("haproxy: not installed or did not start")
fi
start_mwgd
log "mwgd: $N idle SSH tunnels"
measure mwgd-ssh "$N" "$P_SSH"
stop_gw

{
	echo "idle tunnels benchmark, $(date -u +%Y-%m-%dT%H:%MZ)," \
	    "$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
	echo "host: $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg)" \
	    "(shared with other work: noisy); gateway on CPU $GW_CPU, clients and backend on CPU $LG_CPU"
	echo "hard descriptor limit $HARD; mwgd started with soft 1024 and said: $LIMIT_LINE"
	echo "haproxy: $(haproxy -v 2>/dev/null | head -n 1)"
	echo
	printf '%-40s %10s %10s %10s %10s\n' "$N tunnels, each gateway fresh" \
	    mwgd-tls haproxy-tls tls-ratio mwgd-ssh
	for m in n open mem idle; do
		case $m in
		n) l="tunnels open" ;;
		open) l="seconds to open them" ;;
		mem) l="private KiB per tunnel" ;;
		idle) l="CPU ticks while idle, $IDLE_S s" ;;
		esac
		r=n/a
		[ -n "${R[mwgd-tls.$m]:-}" ] && [ -n "${R[haproxy-tls.$m]:-}" ] &&
		    [[ "${R[mwgd-tls.$m]}${R[haproxy-tls.$m]}" != *">"* ]] &&
		    r=$(awk -v a="${R[mwgd-tls.$m]}" -v b="${R[haproxy-tls.$m]}" \
		    'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
		printf '%-40s %10s %10s %10s %10s\n' "$l" "${R[mwgd-tls.$m]:-n/a}" \
		    "${R[haproxy-tls.$m]:-n/a}" "$r" "${R[mwgd-ssh.$m]:-n/a}"
	done
	echo
	echo "TLS: $OPENERS loadgen processes open them (one at a time each);" \
	    "SSH: bench/ssh_load with 16 threads. 1 tick = 10 ms of CPU."
	for line in "${NOTES[@]}"; do echo "note: $line"; done
	echo
	echo "raw:"
	for line in "${RAW[@]}"; do echo "  $line"; done
} >"$T/report.txt"
mkdir -p "$HERE/results"
cp "$T/report.txt" "$HERE/results/tunnels-latest.txt"
cat "$T/report.txt"
[ -s "$T/load.err" ] && { log "client errors (first 5):"; head -n 5 "$T/load.err" >&2; }
exit 0
