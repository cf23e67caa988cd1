#!/usr/bin/env bash
# When the gateway cuts a live tunnel, mwg connect prints the gateway's
# reason without --verbose: a person lock, a device lock, a kill, a reload
# whose policy no longer allows the target, and a revocation, each with
# its exact line. The cut reaches the client as a TLS stream without
# close_notify, and GET /v1/closed answers only the session's own cuts.
# mwg login on a revoked device prints one message, not two.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-42c9d1
LPORT=$((BASE + 10))
make_ca
setup_identity "alice:$ALICE_PW:locums"
enrol_device laptop-1 alice
enrol_device laptop-2 alice
POLICY_ROLE="role locum {
    groups  locums
    targets echo
}"
write_policy "$POLICY_ROLE"
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd
enrol_totp alice

# Waits (5 s) for mwg connect's "forwarding" line; fails with its stderr.
wait_forwarding() {	# stdout-file stderr-file
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail "mwg connect did not start: $(cat "$2")"
}
# A device as mwg enrol leaves it, logged in.
device_dir() {	# name
	local d=$T/mwg-$1
	mkdir -m 700 "$d"
	printf '%s\n' "$GW" >"$d/gateway"
	cp "$T/ca/root.pem" "$d/ca.pem"
	install -m 600 "$T/$1.key" "$d/device.key"
	cp "$T/$1.pem" "$d/device.pem"
	cat "$T/ca/issuing.pem" "$T/ca/root.pem" >"$d/cacerts.pem"
}
device_dir laptop-1
device_dir laptop-2
D=$T/mwg-laptop-1
totp_settle
printf '%s\n' "$ALICE_PW" | "$BIN/mwg" login --dir "$D" --user alice \
	--password-file - --otp "$(totp_code -1)" >/dev/null

"$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" \
	>"$T/connect.out" 2>"$T/connect.err" &
PIDS+=($!)
wait_forwarding "$T/connect.out" "$T/connect.err"

# Opens a tunnel through mwg connect and holds it; $hold reads its end.
hold_tunnel() {	# [local port]
	coproc HOLD { python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', ${1:-$LPORT}))
s.sendall(b'hold\n')
print(s.recv(100).decode().strip(), flush=True)
print('eof' if s.recv(100) == b'' else 'data', flush=True)
"; }
	PIDS+=("$HOLD_PID")
	exec {hold}<&"${HOLD[0]}"
	read -r -t 10 line <&"$hold" || fail "no echo through the tunnel"
	[ "$line" = hold ] || fail "the tunnel echoed '$line'"
	audit_wait '.["event.action"]=="tunnel.open"' $((++opened))
}
# Waits for the held tunnel to end and for mwg connect's n-th cut line;
# prints that line with the local address made constant.
cut_line() {	# n [stderr file]
	local f=${2:-$T/connect.err}
	read -r -t 20 line <&"$hold" || fail "the tunnel did not close"
	[ "$line" = eof ] || fail "the tunnel ended with '$line'"
	exec {hold}<&-
	for _ in $(seq 100); do
		[ "$(grep -c 'closed by the gateway' "$f")" -ge "$1" ] && break
		sleep 0.05
	done
	grep 'closed by the gateway' "$f" | sed -n "$1p" | sed 's/127\.0\.0\.1:[0-9]*/ADDR/'
}
PREFIX="mwg: connect: echo.K84001:$ECHO_PORT: tunnel for ADDR closed by the gateway:"
opened=0

# A person lock.
hold_tunnel
"$BIN/mwgctl" -s "$CTL" lock user alice --reason "left the practice" >/dev/null
expect_eq "$(cut_line 1)" "$PREFIX your access is locked by IT; contact the service desk (user-locked)" "lock user: the reason is printed"
"$BIN/mwgctl" -s "$CTL" unlock user alice >/dev/null

# A device lock.
hold_tunnel
"$BIN/mwgctl" -s "$CTL" lock device laptop-1 --reason "reported stolen" >/dev/null
expect_eq "$(cut_line 2)" "$PREFIX this device is locked by IT; contact the service desk (device-locked)" "lock device: the reason is printed"
"$BIN/mwgctl" -s "$CTL" unlock device laptop-1 >/dev/null

# A kill.
hold_tunnel
id=$("$BIN/mwgctl" -s "$CTL" sessions --json | jq -r '.sessions[0].id')
"$BIN/mwgctl" -s "$CTL" kill "$id" >/dev/null
expect_eq "$(cut_line 3)" "$PREFIX IT closed it (killed-by-admin)" "kill: the reason is printed"

# A reload whose policy no longer gives the role this target.
hold_tunnel
write_policy "role locum {
    groups  locums
    targets emis
}"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
expect_eq "$(cut_line 4)" "$PREFIX the access policy no longer allows it: target: the role does not include echo (role locum) (policy-changed)" "reload: the policy's reason is printed"
write_policy "$POLICY_ROLE"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null

# The cut is a truncation: a plain TLS client sees the stream end without
# close_notify (Python raises SSLEOFError when ragged EOFs are not hidden).
coproc RAW { python3 -c "
import socket, ssl
ctx = ssl.create_default_context(cafile='$T/ca/root.pem')
ctx.load_cert_chain('$D/session.pem', '$D/device.key')
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', $GW_PORT)),
    server_hostname='127.0.0.1', suppress_ragged_eofs=False)
s.sendall(b'CONNECT echo.K84001:$ECHO_PORT HTTP/1.1\\r\\nHost: echo.K84001\\r\\n\\r\\n')
print(s.recv(100).split(b'\\r\\n')[0].decode(), flush=True)
try:
    print('close_notify' if s.recv(100) == b'' else 'data', flush=True)
except ssl.SSLEOFError:
    print('truncated', flush=True)
"; }
PIDS+=("$RAW_PID")
exec {raw}<&"${RAW[0]}"
read -r -t 10 line <&"$raw" || fail "no answer to the raw CONNECT"
expect_eq "$line" "HTTP/1.1 200 Connection established" "a plain TLS client's tunnel is open"
audit_wait '.["event.action"]=="tunnel.open"' $((++opened))
id=$("$BIN/mwgctl" -s "$CTL" sessions --json | jq -r '.sessions[0].id')
"$BIN/mwgctl" -s "$CTL" kill "$id" >/dev/null
read -r -t 10 line <&"$raw" || fail "the raw tunnel did not end"
expect_eq "$line" truncated "a cut tunnel ends without close_notify"

# Only the holder of the session hears about its cuts.
ans=$(curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$D/session.pem" --key "$D/device.key" "https://$GW/v1/closed")
expect_eq "$(jq -r '[.closed[].reason]|join(" ")' <<<"$ans")" "killed-by-admin policy-changed killed-by-admin device-locked user-locked" "GET /v1/closed: the session's cuts, newest first"
expect_eq "$(jq -r '.closed[0].target' <<<"$ans")" "echo.K84001" "... naming the target"
ans=$(curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$T/laptop-2.pem" --key "$T/laptop-2.key" -w '\n%{http_code}' "https://$GW/v1/closed")
expect_eq "$(tail -1 <<<"$ans")" 401 "a device certificate hears nothing"

# The session certificate's end (max-session) ends its tunnels too: a
# session on laptop-2 that expires 12 s from now.
D2=$T/mwg-laptop-2
nb=$(date -u -d "@$(( $(date +%s) - 43200 + 12 ))" +%Y-%m-%dT%H:%M:%SZ)
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-2 --key "$T/laptop-2.key" \
	--user alice --group locums --not-before "$nb" --out "$D2/session"
"$BIN/mwg" connect --dir "$D2" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$((LPORT + 1))" \
	>"$T/connect2.out" 2>"$T/connect2.err" &
PIDS+=($!)
wait_forwarding "$T/connect2.out" "$T/connect2.err"
hold_tunnel $((LPORT + 1))
expect_match "$(cut_line 1 "$T/connect2.err")" "^$PREFIX the session expired at [0-9-]+ [0-9:]+ [A-Z]+ \(run mwg login\)$" "max-session: the session's end closes the tunnel, and mwg says so"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="session-expired" and .["device.id"]=="laptop-2"' 1

# Revocation: the session's device is revoked; the person is told.
hold_tunnel
"$BIN/mwgctl" -s "$CTL" device revoke laptop-1 --reason "lost on a train" >/dev/null
expect_eq "$(cut_line 5)" "$PREFIX this device is revoked; contact the service desk (device-revoked)" "revoke: the reason is printed"

# mwg login on the revoked device: one message, also when a posture report
# is due first (it is refused for the same reason).
rm -f "$D/posture.json"
rc=0; err=$(printf '%s\n' "$ALICE_PW" | "$BIN/mwg" login --dir "$D" --user alice \
	--password-file - --otp "$(totp_code 0)" 2>&1) || rc=$?
expect_eq "$rc" 1 "login on a revoked device fails"
expect_eq "$err" "mwg: login: device laptop-1 is revoked (401)" "... with one message"
stop_mwgd
