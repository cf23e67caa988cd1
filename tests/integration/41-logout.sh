#!/usr/bin/env bash
# mwg logout ends the session at the gateway too: the session certificate
# is refused from then on over TLS (CONNECT 401 with the exact reason,
# whoami 401) and over SSH (the live-session path finds no session, so
# ssh -J with the device key alone is refused), also after a restart;
# its open tunnel closes with reason session-ended and mwg connect says
# so; session.end is audited. A new login works at once. A gateway that
# cannot be reached makes logout exit 1 and say so.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-41a7c0
SSH_PORT=$((BASE + 9))
LPORT=$((BASE + 10))
make_ca
setup_identity "alice:$ALICE_PW:locums"
enrol_device laptop-1 alice
write_policy "practice K84009 \"Jump\" {
    target sshgw 127.0.0.1:$SSH_PORT
}
member group locums { practices K84001 K84009 }
role locum {
    groups  locums
    targets echo sshgw
}"
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
enrol_totp alice

# The device as mwg enrol leaves it.
D=$T/mwg
mkdir -m 700 "$D"
printf '%s\n' "$GW" >"$D/gateway"
cp "$T/ca/root.pem" "$D/ca.pem"
install -m 600 "$T/laptop-1.key" "$D/device.key"
cp "$T/laptop-1.pem" "$D/device.pem"
cat "$T/ca/issuing.pem" "$T/ca/root.pem" >"$D/cacerts.pem"
# Waits (5 s) for mwg connect's "forwarding" line; fails with its stderr.
wait_forwarding() {	# stdout-file stderr-file
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail "mwg connect did not start: $(cat "$2")"
}
login() {	# totp step offset
	printf '%s\n' "$ALICE_PW" | "$BIN/mwg" login --dir "$D" --user alice \
		--password-file - --otp "$(totp_code "$1")"
}

# SSH: the device key, with a live session as the second factor.
for k in ed25519 ecdsa; do
	pub=$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")
	printf '[127.0.0.1]:%s %s\n[sshgw.k84009]:%s %s\n' "$SSH_PORT" "$pub" "$SSH_PORT" "$pub"
done >"$T/known_hosts"
cat >"$T/ssh_config" <<CONF
Host gw
    HostName 127.0.0.1
Host gw sshgw.K84009
    Port $SSH_PORT
    User alice
    IdentityFile $T/laptop-1.key
    IdentitiesOnly yes
    UserKnownHostsFile $T/known_hosts
    StrictHostKeyChecking yes
    GlobalKnownHostsFile /dev/null
    PreferredAuthentications publickey,keyboard-interactive
    BatchMode yes
    ConnectTimeout 10
    LogLevel ERROR
CONF
ssh_j() { printf 'over-ssh\n' | timeout 30 ssh -F "$T/ssh_config" -J gw -W "echo.K84001:$ECHO_PORT" sshgw.K84009 2>"$T/ssh.err"; }

totp_settle
login -1 >/dev/null
cp "$D/session.pem" "$T/old.pem"
install -m 600 "$T/laptop-1.key" "$T/old.key"
serial=$(openssl x509 -in "$T/old.pem" -noout -serial | cut -d= -f2)
expect_eq "$(ssh_j)" over-ssh "before logout: ssh -J with the device key and the live session"

# A tunnel held open through mwg connect.
"$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" \
	>"$T/connect.out" 2>"$T/connect.err" &
PIDS+=($!)
wait_forwarding "$T/connect.out" "$T/connect.err"
coproc HOLD { python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $LPORT))
s.sendall(b'hold\n')
print(s.recv(100).decode().strip(), flush=True)
print('eof' if s.recv(100) == b'' else 'data', flush=True)
"; }
PIDS+=("$HOLD_PID")
exec {hold}<&"${HOLD[0]}"	# stays readable after the coprocess ends
read -r -t 10 line <&"$hold" || fail "no echo through the held tunnel"
expect_eq "$line" hold "a tunnel is open through mwg connect"

out=$("$BIN/mwg" logout --dir "$D")
expect_eq "$out" "logged out: the session certificate is removed from $D and ended at the gateway (1 open tunnel closed)" "mwg logout ends the session at the gateway"
read -r -t 10 line <&"$hold" || fail "the held tunnel did not close"
expect_eq "$line" eof "the open tunnel is closed"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="session-ended"' 1
for _ in $(seq 100); do grep -q 'closed by the gateway' "$T/connect.err" && break; sleep 0.05; done
expect_eq "$(grep 'closed by the gateway' "$T/connect.err" | sed 's/127\.0\.0\.1:[0-9]*/ADDR/')" \
	"mwg: connect: echo.K84001:$ECHO_PORT: tunnel for ADDR closed by the gateway: you logged out (mwg logout) (session-ended)" \
	"mwg connect says why its tunnel closed"
rec=$(audit_select '.["event.action"]=="session.end"')
expect_eq "$(jq -r '[.["event.outcome"], .["user.name"], .["device.id"], .["tls.client.x509.serial_number"], (.["mwg.sessions_ended"]|join(",")), .["tunnels.closed"], .["event.reason"]]|join(" ")' <<<"$rec")" \
	"success alice laptop-1 $serial $serial 1 mwg logout" "session.end audited: who, which session, tunnels closed"

# TLS: the old certificate is refused, with the reason.
connect_old() {
	# A tunnel that opened would hold s_client until its timeout: then
	# the 200 is what the checks below see.
	printf 'CONNECT echo.K84001:%s HTTP/1.1\r\nHost: echo.K84001\r\n\r\n' "$ECHO_PORT" |
		{ gw_raw old || true; } | tr -d '\r'
}
ans=$(connect_old)
expect_eq "$(head -1 <<<"$ans")" "HTTP/1.1 401 Unauthorized" "CONNECT with the ended session: 401"
expect_eq "$(tail -1 <<<"$ans")" '{"error":"certificate-required","reason":"the session ended at logout: log in again (mwg login)"}' "... with the reason"
audit_wait '.["event.action"]=="tunnel.deny" and .["event.reason"]=="the session ended at logout: log in again (mwg login)" and .["user.name"]=="alice" and .["tls.client.x509.serial_number"]=="'"$serial"'"' 1
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --cacert "$T/ca/root.pem" --cert "$T/old.pem" --key "$T/old.key" "https://$GW/v1/whoami" || true)
expect_eq "$code" 401 "whoami with the ended session: 401"
code=$(curl -sS --max-time 10 -p -x "https://$GW" --proxy-cacert "$T/ca/root.pem" --proxy-cert "$T/old.pem" --proxy-key "$T/old.key" \
	-o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 401 "curl CONNECT with the ended session: 401"

# SSH: no live session any more, and batch mode has no other factor.
rc=0; ssh_j >/dev/null || rc=$?
expect_eq "$rc" 255 "after logout: ssh -J with the device key is refused"
audit_wait '.["event.action"]=="ssh.auth" and .["event.outcome"]=="failure" and .["event.reason"]=="no second factor given" and .["device.id"]=="laptop-1"' 1

out=$("$BIN/mwg" logout --dir "$D")
expect_eq "$out" "no session in $D: nothing to do" "a second logout has nothing to do"

# A restart keeps the ended session refused (the store remembers it).
stop_mwgd
start_mwgd
ans=$(connect_old)
expect_eq "$(head -1 <<<"$ans")" "HTTP/1.1 401 Unauthorized" "after a restart the ended session is still refused"

# A new login works at once, over TLS and SSH.
login 0 >/dev/null
expect_eq "$(python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$LPORT)); s.sendall(b'again\n'); s.shutdown(socket.SHUT_WR); print(s.recv(100).decode().strip())")" again "a new login's session is served"
expect_eq "$(ssh_j)" over-ssh "a new login's session serves ssh -J"

# The gateway cannot be told: the local copy goes, mwg says so, exit 1.
stop_mwgd
rc=0; err=$("$BIN/mwg" logout --dir "$D" 2>&1) || rc=$?
expect_eq "$rc" 1 "logout with the gateway down exits 1"
expect_match "$err" "^mwg: logout: the gateway was not told: .*; the session stays valid there until " "... and says the gateway was not told"
[ ! -e "$D/session.pem" ] || fail "the session certificate was left on the device"
log "ok: the local copy is removed even so"
