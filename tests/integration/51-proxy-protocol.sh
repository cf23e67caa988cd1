#!/usr/bin/env bash
# PROXY protocol v2 with a real HAProxy (deploy/haproxy.cfg) in front of
# mwgd: the client address from the header is what login, policy sites,
# SSH and the audit trail see; HAProxy's health check (a LOCAL header,
# TLS, no client certificate) passes. A header from an address not in
# proxy-protocol from, and a missing, malformed, truncated or late header
# from one that is, close the connection with a proxy.reject record; a
# client not listed and sending no header is served as before.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/haproxy-common.sh"
ALICE_PW=alice-Pw-51a7c2
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
make_device laptop-2
cat >"$T/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target emis   127.0.0.1:$HTTP_PORT
    target echo   127.0.0.1:$ECHO_PORT
}
practice K84009 "Jump" {
    target sshgw  127.0.0.1:$HAP_SSH
}
# The care home is 127.0.0.2 and .3; HAProxy (and mwgd's own dials, for
# ssh -J) is 127.0.0.1. Anyone else, e.g. 127.0.0.4, is nowhere.
site care-home    { networks 127.0.0.2/31 }
site gateway-self { networks 127.0.0.1/32 }
role staff {
    groups    gp-clinicians
    practices *
    targets   *
    from      care-home gateway-self
}
member alice { practices K84001 K84009 }
POLICY

# ---- mwgd.conf --------------------------------------------------------------
write_conf "listen ssh 127.0.0.1:$SSH_PORT {
    proxy-protocol from 10.9.0.0/16
    proxy-protocol from 127.0.0.1/32 ::1
}
timeouts { head 2s }"
tls_proxy_from 127.0.0.1/32 ::1/128
cp "$T/mwgd.conf" "$T/good.conf"
sed -i "s|proxy-protocol from 10.9.0.0/16|proxy-protocol from 10.9.0.1/16 haproxy.example\n    proxy-protocol 127.0.0.1|" "$T/mwgd.conf"
rc=0; out=$("$BIN/mwgd" -n -f "$T/mwgd.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "mwgd -n refuses bad proxy-protocol lines"
line=$(grep -n "10.9.0.1/16" "$T/mwgd.conf" | cut -d: -f1)
expect_match "$out" "mwgd.conf:$line:[0-9]+: expected an address or a network like 10.0.0.0/24 or 2001:db8::/64 \(no host bits set\), got '10.9.0.1/16'" "host bits set: file:line:col"
expect_match "$out" "got 'haproxy.example'" "a name is no address"
expect_match "$out" "mwgd.conf:$((line + 1)):[0-9]+: expected 'from' after proxy-protocol, got '127.0.0.1'" "'from' is required"
cp "$T/good.conf" "$T/mwgd.conf"
"$BIN/mwgd" -n -f "$T/mwgd.conf" >/dev/null || fail "mwgd -n refuses the good configuration"

start_backend http "$HTTP_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
# wait_port's two probes (TLS, SSH) were connections from 127.0.0.1
# without a header: one proxy.reject each.
audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"' 2
n0=$(audit_count '.["event.action"]=="proxy.reject"')
expect_eq "$n0" 2 "wait_port's probes without a header: refused and audited"
hap_start
ms=$(hap_wait_status mwg_tls_nodes node-a UP)
log "ok: HAProxy's health check (PROXY LOCAL, TLS, GET /health) passes: node-a UP after $ms ms"
hap_wait_status mwg_tls_nodes node-b DOWN >/dev/null
expect_eq "$(audit_count '.["event.action"]=="proxy.reject"')" "$n0" "health checks cause no refusal"

# ---- through HAProxy: the client's address is what mwgd sees -------------
enrol_totp alice
totp_settle
r=$(GW=$HAP gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)" 127.0.0.3)
expect_eq "$(tail -1 <<<"$r")" 200 "login through HAProxy from 127.0.0.3"
audit_wait '.["event.action"]=="auth.login" and .["event.outcome"]=="success"' 1
rec=$(audit_select '.["event.action"]=="auth.login" and .["event.outcome"]=="success"' | tail -1)
expect_eq "$(jq -r '.["source.ip"]' <<<"$rec")" 127.0.0.3 "auth.login names the client, not HAProxy"

code=$(GW=$HAP gw_curl laptop-2 --interface 127.0.0.3 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")
expect_eq "$code" 200 "CONNECT through HAProxy from the care home (site care-home)"
audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"' 1
rec=$(audit_select '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"' | tail -1)
expect_eq "$(jq -r '[.["source.ip"], .["rule.id"], .["destination.address"]]|join(" ")' <<<"$rec")" \
	"127.0.0.3 role staff emis.K84001" "tunnel.open: source.ip from the header"
rc=0; GW=$HAP gw_curl laptop-2 --interface 127.0.0.4 -o /dev/null "http://emis.K84001:$HTTP_PORT/" 2>"$T/curl.err" || rc=$?
expect_match "$(cat "$T/curl.err")" "403" "CONNECT through HAProxy from 127.0.0.4: no site of the role (HAProxy's own address would be)"
audit_wait '.["event.action"]=="tunnel.deny"' 1
rec=$(audit_select '.["event.action"]=="tunnel.deny"' | tail -1)
expect_eq "$(jq -r '[.["source.ip"], .["http.response.status_code"]]|join(" ")' <<<"$rec")" "127.0.0.4 403" "tunnel.deny: source.ip from the header"

# ---- not listed: served without a header, refused with one ---------------
code=$(curl -sS --max-time 10 --interface 127.0.0.2 --cacert "$T/ca/root.pem" --cert "$T/laptop-2.pem" \
	--key "$T/laptop-2.key" -o "$T/whoami.json" -w '%{http_code}' "https://$GW/v1/whoami")
expect_eq "$code $(jq -r .source "$T/whoami.json")" "200 127.0.0.2" "a client not listed, with no header, is served as before"

# send_raw SRC PORT HEXBYTES HOLD: connects from SRC, sends the bytes,
# waits for mwgd to close (at most 10 s), unless HOLD is "close" (closes
# at once). Prints what came back (hex), then the ms until mwgd closed.
send_raw() {
	python3 - "$@" <<'PY'
import socket, sys, time
src, port, data, hold = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4]
s = socket.socket()
s.bind((src, 0))
s.connect(("127.0.0.1", port))
t0 = time.monotonic()
s.sendall(data)
if hold == "close":
    s.shutdown(socket.SHUT_WR)
s.settimeout(10)
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except (socket.timeout, ConnectionResetError):
    pass
print(got.hex() or "-")
print(int((time.monotonic() - t0) * 1000))
PY
}
SIG=0d0a0d0a000d0a515549540a
# 10.9.8.7:40000 -> 127.0.0.1:443, then the start of a TLS ClientHello.
FORGED=${SIG}2111000c0a0908077f0000019c4001bb
TLS_START=16030100
reject_reason() {	# src [n]: the last proxy.reject's reason from src, once
	# there are n (default 1) from there
	audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="'"$1"'"' "${2:-1}"
	audit_select '.["event.action"]=="proxy.reject" and .["source.ip"]=="'"$1"'"' | tail -1 |
		jq -r '[(.["network.protocol"] // "tls"), .["event.reason"]]|join(": ")'
}
out=$(send_raw 127.0.0.2 "$GW_PORT" "$FORGED$TLS_START" hold)
expect_eq "$(head -1 <<<"$out")" - "a forged header from 127.0.0.2 (not listed): closed, nothing answered"
expect_eq "$(reject_reason 127.0.0.2)" "tls: a PROXY protocol header from an address not in proxy-protocol from" \
	"proxy.reject: the peer's own address and why"
expect_eq "$(audit_count '.["source.ip"]=="10.9.8.7"')" 0 "the forged address is in no record"

# ---- listed: the header is required --------------------------------------
n0=$(audit_count '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"')
rc=0; curl -sS --max-time 10 --cacert "$T/ca/root.pem" -o /dev/null "https://$GW/health" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "TLS from 127.0.0.1 (listed) without a header was served"
expect_eq "$(reject_reason 127.0.0.1)" "tls: no PROXY protocol v2 signature" "listed, no header: refused and audited"
out=$(send_raw 127.0.0.1 "$GW_PORT" "$(printf 'PROXY TCP4 10.9.8.7 127.0.0.1 40000 443\r\n' | od -An -v -tx1 | tr -d ' \n')" hold)
audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"' $((n0 + 2))
expect_eq "$(reject_reason 127.0.0.1)" "tls: PROXY protocol version 1 (text) is not accepted" "listed, a version 1 header: refused"
out=$(send_raw 127.0.0.1 "$GW_PORT" "${FORGED:0:40}" close)
audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"' $((n0 + 3))
expect_eq "$(reject_reason 127.0.0.1)" "tls: the connection closed before its PROXY protocol header ended" "listed, a truncated header: refused"
out=$(send_raw 127.0.0.1 "$GW_PORT" "${SIG}2111020a" hold)
audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"' $((n0 + 4))
expect_eq "$(reject_reason 127.0.0.1)" "tls: header longer than 536 bytes" "listed, a header over 536 bytes: refused from its length"
out=$(send_raw 127.0.0.1 "$GW_PORT" "${FORGED:0:40}" hold)
ms=$(tail -1 <<<"$out")
audit_wait '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"' $((n0 + 5))
expect_eq "$(reject_reason 127.0.0.1)" "tls: no complete PROXY protocol header in time" "listed, a header that stops half-way: refused"
[ "$ms" -ge 1500 ] && [ "$ms" -le 4000 ] || fail "a stalled header was closed after $ms ms, expected the 2 s head timeout"
log "ok: a stalled header held its connection $ms ms (timeouts { head 2s })"

# ---- SSH through HAProxy: stock ssh -J ------------------------------------
# HAProxy's SSH server follows node-a's TLS health (track).
hap_wait_status mwg_ssh_nodes node-a UP >/dev/null
for k in ed25519 ecdsa; do
	pub=$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")
	printf '[127.0.0.1]:%s %s\n[sshgw.k84009]:%s %s\n' "$HAP_SSH" "$pub" "$HAP_SSH" "$pub"
done >"$T/known_hosts"
# -J hands the jump hop -F, so the care home's address is set there.
cat >"$T/ssh-alice" <<CONF
Host gw
    HostName 127.0.0.1
    BindAddress 127.0.0.3
Host gw sshgw.K84009
    Port $HAP_SSH
    User alice
    IdentityFile $T/laptop-1.key
    IdentitiesOnly yes
    UserKnownHostsFile $T/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    PreferredAuthentications publickey,keyboard-interactive
    BatchMode yes
    ConnectTimeout 10
    LogLevel ERROR
CONF
head -c 262144 /dev/urandom >"$T/blob"
timeout 30 ssh -F "$T/ssh-alice" -J gw -W "echo.K84001:$ECHO_PORT" sshgw.K84009 <"$T/blob" >"$T/blob.out" 2>"$T/ssh.err" ||
	fail "ssh -J through HAProxy: $(cat "$T/ssh.err")"
cmp -s "$T/blob" "$T/blob.out" || fail "ssh -J through HAProxy: 256 KiB did not come back byte-exact"
log "ok: ssh -J through HAProxy (both hops with PROXY headers): 256 KiB each way, byte-exact"
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh"' 2
expect_eq "$(audit_select '.["event.action"]=="ssh.auth" and .["event.outcome"]=="success"' | jq -r '.["source.ip"]' | sort | tr '\n' ' ')" \
	"127.0.0.1 127.0.0.3 " "ssh.auth: the outer hop from the care home, the inner from mwgd's own dial"
expect_eq "$(audit_select '.["event.action"]=="tunnel.open" and .["network.protocol"]=="ssh"' |
	jq -r '.["destination.address"] + "@" + .["source.ip"]' | sort | tr '\n' ' ')" \
	"echo.K84001@127.0.0.1 sshgw.K84009@127.0.0.3 " "SSH tunnel.open records: source.ip from the headers"
rc=0; timeout 20 ssh -F "$T/ssh-alice" -o BindAddress=127.0.0.4 -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "ssh -W through HAProxy from 127.0.0.4: refused"
audit_wait '.["event.action"]=="tunnel.deny" and .["network.protocol"]=="ssh" and .["source.ip"]=="127.0.0.4"' 1
log "ok: ... as tunnel.deny from 127.0.0.4: the site rule saw the header's address"

# Straight to mwgd's SSH port: from 127.0.0.2 (not listed) with no header,
# served; with a forged header, refused; from 127.0.0.1 (listed) without
# one, refused.
sed -e "s/^    BindAddress 127.0.0.3/    BindAddress 127.0.0.2/" -e "s/^    Port $HAP_SSH/    Port $SSH_PORT/" \
	"$T/ssh-alice" >"$T/ssh-direct"
for k in ed25519 ecdsa; do
	printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")"
done >>"$T/known_hosts"
r=$(printf 'direct\n' | timeout 20 ssh -F "$T/ssh-direct" -W "echo.K84001:$ECHO_PORT" gw 2>"$T/ssh.err") ||
	fail "ssh -W from 127.0.0.2 straight to mwgd: $(cat "$T/ssh.err")"
expect_eq "$r" direct "SSH from 127.0.0.2 (not listed), no header: served as before"
out=$(send_raw 127.0.0.2 "$SSH_PORT" "${FORGED}5353482d322e302d" hold)
expect_eq "$(head -1 <<<"$out")" - "SSH: a forged header from 127.0.0.2: closed before any banner"
expect_eq "$(reject_reason 127.0.0.2 2)" "ssh: a PROXY protocol header from an address not in proxy-protocol from" \
	"SSH proxy.reject: the peer's own address and why"
n1=$(audit_count '.["event.action"]=="proxy.reject" and .["source.ip"]=="127.0.0.1"')
rc=0; timeout 20 ssh -F "$T/ssh-direct" -o BindAddress=127.0.0.1 -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "SSH from 127.0.0.1 (listed) without a header: refused"
expect_eq "$(reject_reason 127.0.0.1 $((n1 + 1)))" "ssh: no PROXY protocol v2 signature" "SSH proxy.reject: no header"
expect_eq "$(audit_count '.["source.ip"]=="10.9.8.7"')" 0 "the forged address is in no record"

stop_proc haproxy
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null || fail "audit verify"
log "ok: the audit chain verifies"
