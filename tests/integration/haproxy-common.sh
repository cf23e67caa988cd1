# HAProxy in front of mwgd for scenarios 51, 52 and 57, sourced after
# common.sh: deploy/haproxy.cfg itself, with this test's addresses, ports
# and files put in, run in the foreground and asked for its servers'
# states over its stats socket. By default node-a is the mwgd under test
# and node-b's address has nothing behind it (a node that is down); a
# scenario with two real nodes sets HAP_NODE_A and HAP_NODE_B (and their
# _SSH) before hap_start. HAP_SOURCE: the address HAProxy connects to the
# nodes from (what their proxy-protocol from lists), so that a client on
# 127.0.0.1 can still reach a node directly, without a header.
SSH_PORT=$((BASE + 9))
HAP_TLS=$((BASE + 10))		# HAProxy's TLS frontend
HAP_SSH=$((BASE + 11))		# HAProxy's SSH frontend
HAP=127.0.0.1:$HAP_TLS
HAP_SOCK=$T/haproxy.sock
HAP_NODE_A=127.0.0.1:$GW_PORT
HAP_NODE_A_SSH=127.0.0.1:$SSH_PORT
HAP_NODE_B=127.0.0.1:$DOWN_PORT
HAP_NODE_B_SSH=127.0.0.1:$DOWN_PORT
HAP_SOURCE=
command -v haproxy >/dev/null || fail "haproxy is missing (deploy/deps.sh test)"

# The mwgd.conf lines a node behind HAProxy needs (write_conf's tls block
# gets them with tls_proxy_from).
tls_proxy_from() {	# networks...
	sed -i "s|^    root        .*|&\n    proxy-protocol from $*|" "$T/mwgd.conf"
}

hap_config() {
	local src source=()
	src=$(dirname "$0")/../../deploy/haproxy.cfg
	# In defaults: the TLS and SSH servers and the health checks.
	[ -z "$HAP_SOURCE" ] || source=(-e "s|^    timeout check .*|&\n    source $HAP_SOURCE|")
	sed ${source[@]+"${source[@]}"} -e "s|log /dev/log local0|log stderr format raw local0 info|" \
	    -e '/^    user haproxy$/d' -e '/^    group haproxy$/d' \
	    -e '/^    chroot /d' \
	    -e "s|/run/haproxy/admin.sock|$HAP_SOCK|" \
	    -e "s|bind :443|bind 127.0.0.1:$HAP_TLS|" \
	    -e "s|bind :2222|bind 127.0.0.1:$HAP_SSH|" \
	    -e "s|10.0.0.11:443|$HAP_NODE_A|" \
	    -e "s|10.0.0.11:2222|$HAP_NODE_A_SSH|" \
	    -e "s|10.0.0.12:443|$HAP_NODE_B|" \
	    -e "s|10.0.0.12:2222|$HAP_NODE_B_SSH|" \
	    -e "s|/etc/mwg/ca/root.pem|$T/ca/root.pem|" \
	    -e "s|gateway.example.org|localhost|g" \
	    -e "s|inter 2s fall 2 rise 2|inter 250ms fall 2 rise 2|" \
	    -e "s|maxconn 20000|maxconn 1000|" \
	    "$src" >"$T/haproxy.cfg"
	# Every production value was replaced: the file's shape is still
	# the one this script knows.
	! grep -nE '10\.0\.0\.1[12]|example\.org|/etc/|/run/|bind :|inter 2s|maxconn 20000' "$T/haproxy.cfg" ||
		fail "deploy/haproxy.cfg has a value this test does not replace"
	haproxy -c -q -f "$T/haproxy.cfg" || fail "haproxy -c refuses deploy/haproxy.cfg"
}

hap_start() {
	hap_config
	haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
	# haproxy ends with 128+SIGTERM when stopped so.
	proc_track haproxy $! 143 "$T/haproxy.log"
	wait_port "$HAP_TLS"
	wait_port "$HAP_SSH"
}

hap_cmd() {	# command: its answer on the stats socket
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
' "$HAP_SOCK" "$1"
}
hap_status() {	# backend server: UP, DOWN, "UP 1/2" ...
	hap_cmd "show stat" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s { print $18 }'
}
# Waits up to 10 s for a server's status; prints the milliseconds it took.
hap_wait_status() {	# backend server status
	local t0 now st
	t0=$(date +%s%3N)
	for _ in $(seq 200); do
		st=$(hap_status "$1" "$2")
		[ "$st" = "$3" ] && { now=$(date +%s%3N); echo $((now - t0)); return 0; }
		sleep 0.05
	done
	fail "HAProxy: $1/$2 is '$st', not $3, after 10 s"
}
