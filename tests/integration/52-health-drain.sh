#!/usr/bin/env bash
# GET /health and mwgctl drain, with a real HAProxy (deploy/haproxy.cfg)
# checking the node. /health answers 200 "ready" without a client
# certificate, straight or through HAProxy. After mwgctl drain it answers
# 503 "draining", HAProxy marks the node down, new TLS requests get 503
# draining (audited), new SSH connections are closed, and a live tunnel
# keeps flowing; when it ends mwgd stops by itself (exit 0). With a short
# --limit, a tunnel still open is closed at the limit (reason shutdown).
# SIGTERM with timeouts { stop-drain } drains the same way; a second
# SIGTERM stops at once.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/haproxy-common.sh"

# ---- usage, no daemon needed ------------------------------------------------
for bad in "--limit 0" "--limit 25h" "--limit soon" "now"; do
	rc=0
	# shellcheck disable=SC2086 # each case is several words
	"$BIN/mwgctl" -s "$T/no-such-socket" drain $bad >/dev/null 2>"$T/usage.err" || rc=$?
	expect_eq "$rc" 2 "mwgctl drain $bad: bad usage"
done

make_ca
make_device laptop-1
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT {
    proxy-protocol from 127.0.0.1/32
}"
tls_proxy_from 127.0.0.1/32
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
# wait_port's two probes (TLS, SSH) were connections from 127.0.0.1
# without a header: one proxy.reject each.
audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"' 2
n0=$(audit_count '.["event.action"]=="proxy.reject"')
expect_eq "$n0" 2 "wait_port's probes without a header: refused and audited"
hap_start
hap_wait_status mwg_tls_nodes node-a UP >/dev/null

health() {	# curl options...: "STATUS BODY"
	local out
	out=$(curl -sS --max-time 10 --cacert "$T/ca/root.pem" -w ' %{http_code}' "$@")
	printf '%s\n' "${out##* } ${out% *}"
}
expect_eq "$(health --interface 127.0.0.2 "https://$GW/health")" "200 ready" "GET /health without a client certificate"
expect_eq "$(health "https://$HAP/health")" "200 ready" "GET /health through HAProxy"
expect_eq "$(health --interface 127.0.0.2 -X POST "https://$GW/health" | cut -d' ' -f1)" 405 "POST /health: 405"
expect_eq "$(audit_count '.["event.action"]!="proxy.reject"')" 2 "health checks write no audit record (audit.start, gateway.start only)"
expect_eq "$(audit_count '.["event.action"]=="proxy.reject"')" "$n0" "... and no proxy.reject: HAProxy's checks carry a header"

# ---- a live tunnel through HAProxy, then drain ----------------------------
# open_tunnel, through HAProxy, with s_client as the coprocess itself so
# that killing TUN_PID ends the client's connection.
hap_tunnel() {
	local line
	coproc TUN { exec openssl s_client -quiet -connect "$HAP" -CAfile "$T/ca/root.pem" \
		-cert "$T/laptop-1.pem" -key "$T/laptop-1.key" 2>/dev/null; }
	PIDS+=("$TUN_PID")
	exec {tin}>&"${TUN[1]}" {tout}<&"${TUN[0]}"
	printf 'CONNECT echo.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$ECHO_PORT" >&"$tin"
	read -r -t 5 line <&"$tout" || fail "no answer to CONNECT through HAProxy"
	[ "$(tr -d '\r' <<<"$line")" = "HTTP/1.1 200 Connection established" ] ||
		fail "CONNECT through HAProxy answered '$line'"
	read -r -t 5 _ <&"$tout"
}
hap_tunnel
printf 'before\n' >&"$tin"
read -r -t 5 line <&"$tout" || fail "no echo through the tunnel"
expect_eq "$line" before "the tunnel through HAProxy flows"
out=$("$BIN/mwgctl" -s "$CTL" drain --limit 60s)
expect_match "$out" "^draining: 1 open tunnel; mwgd stops when it ends, or at 20[0-9-]+ [0-9:]+ UTC$" "mwgctl drain says what happens"
audit_wait '.["event.action"]=="admin.drain"' 1
expect_eq "$(audit_select '.["event.action"]=="admin.drain"' | jq -r '[.["user.id"], .["mwg.drain_limit_s"], .["tunnels.open"]]|join(" ")')" \
	"$(id -u) 60 1" "admin.drain: who, the limit, the open tunnels"
expect_eq "$(health --interface 127.0.0.2 "https://$GW/health")" "503 draining" "GET /health while draining: 503"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq -r .draining)" true "mwgctl status says draining"
ms=$(hap_wait_status mwg_tls_nodes node-a DOWN)
log "ok: HAProxy marked the draining node down $ms ms after the drain"
hap_wait_status mwg_ssh_nodes node-a DOWN >/dev/null
log "ok: ... and its SSH server with it (track)"

# New work is refused: straight, through HAProxy, and over SSH.
body=$(curl -sS --max-time 10 --interface 127.0.0.2 --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" \
	--key "$T/laptop-1.key" -w ' %{http_code}' "https://$GW/v1/whoami")
expect_eq "${body##* } $(jq -r .error <<<"${body% *}")" "503 draining" "a new request while draining: 503 draining"
audit_wait '.["event.action"]=="connection.refuse" and .["event.reason"]=="draining"' 1
expect_eq "$(audit_select '.["event.action"]=="connection.refuse"' | jq -r '.["source.ip"]')" 127.0.0.2 "connection.refuse names who was refused"
rc=0; curl -sS --max-time 10 --cacert "$T/ca/root.pem" -o /dev/null "https://$HAP/health" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "HAProxy still sends new connections to the drained node"
log "ok: HAProxy has no node left for a new connection (curl exit $rc)"
out=$(python3 - "$SSH_PORT" <<'PY'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
print(s.recv(256) or b"closed")
PY
)
expect_eq "$out" "b'closed'" "a new SSH connection while draining: closed without a banner"
wait_for_line "$T/mwgd.log" "ssh: 127.0.0.2: draining: connection refused"

printf 'during\n' >&"$tin"
read -r -t 5 line <&"$tout" || fail "the live tunnel stopped flowing after the drain"
expect_eq "$line" during "the live tunnel keeps flowing while the node drains"
out=$("$BIN/mwgctl" -s "$CTL" drain)
expect_match "$out" "^already draining: 1 open tunnel" "mwgctl drain again: the drain goes on"
expect_eq "$(audit_count '.["event.action"]=="admin.drain"')" 1 "... and is recorded once"

# The tunnel ends: mwgd stops by itself.
t0=$(date +%s%3N)
kill "$TUN_PID"
wait_proc mwgd
log "ok: mwgd stopped $(( $(date +%s%3N) - t0 )) ms after the last tunnel ended"
rec=$(audit_select '.["event.action"]=="gateway.drained"')
expect_eq "$(jq -r '[.["event.reason"], .["tunnels.closed"]]|join(" | ")' <<<"$rec")" "every tunnel has ended | 0" "gateway.drained: why it ended"
expect_eq "$(audit_select '.["event.action"]=="tunnel.close"' | jq -r '.["event.reason"]')" completed "the tunnel ended by itself, not cut"
expect_eq "$(audit_count '.["event.action"]=="gateway.stop"')" 1 "then gateway.stop, as on SIGTERM"

# ---- the limit ----------------------------------------------------------
start_mwgd
hap_wait_status mwg_tls_nodes node-a UP >/dev/null
expect_eq "$(health "https://$HAP/health")" "200 ready" "restarted, the node is ready again through HAProxy"
exec {tin}>&- {tout}<&-
hap_tunnel
t0=$(date +%s%3N)
"$BIN/mwgctl" -s "$CTL" drain --limit 2s >/dev/null
wait_proc mwgd
ms=$(( $(date +%s%3N) - t0 ))
[ "$ms" -ge 1800 ] && [ "$ms" -le 5000 ] || fail "with --limit 2s mwgd stopped after $ms ms"
log "ok: with --limit 2s and a tunnel open, mwgd stopped after $ms ms"
rec=$(audit_select '.["event.action"]=="gateway.drained"' | tail -1)
expect_eq "$(jq -r '[.["event.reason"], .["tunnels.closed"]]|join(" | ")' <<<"$rec")" "the drain limit was reached | 1" "gateway.drained at the limit"
expect_eq "$(audit_select '.["event.action"]=="tunnel.close"' | tail -1 | jq -r '.["event.reason"]')" shutdown "the tunnel left at the limit: reason shutdown"
rc=0; read -r -t 5 line <&"$tout" || rc=$?
expect_eq "$rc" 1 "the client saw its tunnel end (end of file)"
exec {tin}>&- {tout}<&-

# ---- SIGTERM with timeouts { stop-drain }: the same drain ---------------
printf 'timeouts { stop-drain 30s }\n' >>"$T/mwgd.conf"
start_mwgd
hap_wait_status mwg_tls_nodes node-a UP >/dev/null
hap_tunnel
kill -TERM "$MWGD_PID"
wait_for_line "$T/mwgd.log" "SIGTERM: draining for at most 30s; SIGTERM again stops at once"
expect_eq "$(health --interface 127.0.0.2 "https://$GW/health")" "503 draining" "SIGTERM with stop-drain: GET /health 503"
rec=$(audit_select '.["event.action"]=="admin.drain"' | tail -1)
expect_eq "$(jq -r '[.["user.id"], .["mwg.drain_limit_s"], .["tunnels.open"]]|join(" ")' <<<"$rec")" "-1 30 1" "admin.drain by a signal (user.id -1), the limit, the open tunnel"
printf 'after-term\n' >&"$tin"
read -r -t 5 line <&"$tout" || fail "the live tunnel stopped flowing after SIGTERM"
expect_eq "$line" after-term "the live tunnel keeps flowing after SIGTERM"
kill "$TUN_PID"
wait_proc mwgd
rec=$(audit_select '.["event.action"]=="gateway.drained"' | tail -1)
expect_eq "$(jq -r '[.["event.reason"], .["tunnels.closed"]]|join(" | ")' <<<"$rec")" "every tunnel has ended | 0" "SIGTERM: gateway.drained when the tunnel ended"
exec {tin}>&- {tout}<&-

# A second SIGTERM stops at once, cutting what is left.
start_mwgd
hap_wait_status mwg_tls_nodes node-a UP >/dev/null
hap_tunnel
kill -TERM "$MWGD_PID"
wait_for_line "$T/mwgd.log" "SIGTERM: draining"
t0=$(date +%s%3N)
kill -TERM "$MWGD_PID"
wait_proc mwgd
ms=$(( $(date +%s%3N) - t0 ))
[ "$ms" -le 5000 ] || fail "a second SIGTERM took $ms ms to stop mwgd"
log "ok: a second SIGTERM stopped mwgd after $ms ms"
expect_eq "$(audit_select '.["event.action"]=="tunnel.close"' | tail -1 | jq -r '.["event.reason"]')" shutdown "the second SIGTERM cut the tunnel: reason shutdown"
expect_eq "$(audit_count '.["event.action"]=="gateway.drained"')" 3 "no gateway.drained for a drain cut short by SIGTERM"
exec {tin}>&- {tout}<&-
stop_proc haproxy
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null || fail "audit verify"
log "ok: the audit chain verifies"
