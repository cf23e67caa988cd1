#!/usr/bin/env bash
# The staff client end to end against a real mwgd: mwg enrol (EST, key made
# on the device), status, login (PAM + TOTP), connect (a local port whose
# connections become CONNECT tunnels: 1 MiB byte-exact with half-close,
# TLS resumption, refusals, break-glass), logout.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ALICE_PW=alice-Pw-93c1e2
make_ca
setup_identity "alice:$ALICE_PW:locums"
write_policy "role tester {
    groups locums
    practices *
    targets echo
}
role glass {
    groups locums
    practices *
    targets emis
    break-glass 1h
}"
write_conf
start_backend echo "$ECHO_PORT"
start_backend http "$HTTP_PORT"
start_mwgd
enrol_totp alice
D=$T/mwg
LPORT=$((BASE + 10))

code=$(enrol_code_create --user alice --practice K84001)
out=$("$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code")
expect_match "$out" "enrolled this device as dev-[a-z2-7]+ with the gateway $GW" "mwg enrol"
expect_eq "$(stat -c %a "$D")" 700 "state dir 0700"
expect_eq "$(stat -c %a "$D/device.key")" 600 "device.key 0600"
expect_eq "$(cat "$D/gateway")" "$GW" "gateway file"
cmp -s "$D/ca.pem" "$T/ca/root.pem" || fail "ca.pem is not the --ca file"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' "$D/cacerts.pem")" 2 "cacerts.pem"
rc=0; err=$("$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" 2>&1) || rc=$?
expect_eq "$rc" 1 "second enrol refused"
expect_match "$err" "already enrolled as device dev-" "second enrol says why"
rc=0; err=$("$MWG" enrol --dir "$T/mwg2" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" 2>&1 >/dev/null) || rc=$?
expect_eq "$rc" 1 "used code refused"
expect_eq "$err" "mwg: enrol: the enrolment code is not valid (401)" "used code: the gateway's reason"
[ ! -e "$T/mwg2/device.pem" ] || fail "a refused enrolment wrote device.pem"
rc=0; err=$("$MWG" enrol --dir "$T/mwg3" --gateway "localhost:$GW_PORT" --ca "$T/ca/issuing.pem" --code "$code" 2>&1 >/dev/null) || rc=$?
expect_eq "$rc" 1 "wrong CA refused"
expect_eq "$err" "mwg: enrol: TLS with the gateway localhost:$GW_PORT: the gateway's certificate does not verify: unable to get local issuer certificate" "wrong CA: says the certificate does not verify"

out=$("$MWG" status --dir "$D")
log "status before login:"; echo "$out"
expect_match "$out" "session: none \(run mwg login\)" "status: no session"
expect_match "$out" "gateway: reachable" "status: gateway reachable"

rc=0; err=$("$MWG" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" 2>&1) || rc=$?
expect_eq "$rc" 1 "connect without session"
expect_eq "$err" "mwg: connect: not logged in (run mwg login)" "connect without session says so"

totp_settle
rc=0; err=$(printf 'wrong\n' | "$MWG" login --dir "$D" --user alice --password-file - --otp 000000 2>&1) || rc=$?
expect_eq "$rc" 1 "wrong password exit 1"
expect_match "$err" "^mwg: login: .* \(401\)$" "wrong password: reason (401)"
log "$err"
out=$(printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code)")
log "$out"
expect_match "$out" "logged in as alice on device dev-" "login ok"
expect_eq "$(stat -c %a "$D/session.pem")" 600 "session.pem 0600"
expect_eq "$(jq -r .user "$D/session.json")" alice "session.json user"
[ "$(jq -r 'has("certificate")' "$D/session.json")" = false ] || fail "certificate in session.json"

out=$("$MWG" status --dir "$D")
echo "$out"
expect_match "$out" "user: alice" "status names the user"
expect_match "$out" "kind: session" "whoami sees the session"

"$MWG" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" -v >"$T/connect.out" 2>"$T/connect.err" &
# mwg connect has no SIGTERM handler: it ends by the signal (143).
proc_track connect $! 143 "$T/connect.err" "$T/connect.out"
wait_port "$LPORT"
r=$(python3 - "$LPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = bytes(range(256)) * 4096   # 1 MiB
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b: break
    got += b
print("same" if got == data else "differ %d" % len(got))
PY
)
expect_eq "$r" same "1 MiB echoed exactly through mwg connect, half-close carried"
for i in 1 2 3; do
	r=$(python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$LPORT)); s.sendall(b'ping$i\n'); s.shutdown(socket.SHUT_WR); print(s.recv(100).decode().strip())")
	expect_eq "$r" "ping$i" "tunnel $i"
done
wait_for_line "$T/connect.err" "TLS resumed"
cat "$T/connect.err"
expect_match "$(cat "$T/connect.err")" "TLS resumed" "later tunnels resume TLS"

"$MWG" connect --dir "$D" "nope.K84001:1" --listen "127.0.0.1:$((LPORT+1))" 2>"$T/connect2.err" &
proc_track connect2 $! 143 "$T/connect2.err"
wait_port $((LPORT+1))
python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$((LPORT+1)))); print(s.recv(100))" >/dev/null
wait_for_line "$T/connect2.err" "nope.K84001:1: "
log "$(cat "$T/connect2.err")"
expect_match "$(cat "$T/connect2.err")" "mwg: connect: nope.K84001:1: .* \(40[34]\)" "refused target: reason and status"

# Break glass: emis only with a reason.
"$MWG" connect --dir "$D" "emis.K84001:$HTTP_PORT" --listen "127.0.0.1:$((LPORT+2))" 2>"$T/c3.err" >"$T/c3.out" &
proc_track connect3 $! 143 "$T/c3.err" "$T/c3.out"
"$MWG" connect --dir "$D" "emis.K84001:$HTTP_PORT" --listen "127.0.0.1:$((LPORT+3))" --break-glass "covering duty doctor, incident 4411" 2>"$T/c4.err" >"$T/c4.out" &
proc_track connect4 $! 143 "$T/c4.err" "$T/c4.out"
for f in c3 c4; do for _ in $(seq 50); do [ -s "$T/$f.out" ] && break; sleep 0.1; done; done
r=$(curl -sS --max-time 5 "http://127.0.0.1:$((LPORT+2))/x" -o /dev/null -w '%{http_code}' 2>/dev/null || true)
wait_for_line "$T/c3.err" "emis.K84001:$HTTP_PORT: "
expect_match "$(cat "$T/c3.err")" "emis.K84001:$HTTP_PORT: .* \(403\)" "emis without break-glass: 403"
page=$(curl -sS --max-time 5 "http://127.0.0.1:$((LPORT+3))/glass")
expect_match "$page" "Stand-in practice system" "emis with break-glass"
audit_wait '.["event.action"]=="tunnel.open" and .["rule.id"]=="role glass"' 1
log "ok: the break-glass role allowed it"
audit_wait '.["event.action"]=="tunnel.open" and .["rule.id"]=="role glass" and .["event.severity"]>=7 and .["mwg.break_glass_reason"]=="covering duty doctor, incident 4411"' 1
log "ok: break-glass use audited with high severity and its reason"

out=$("$MWG" logout --dir "$D")
expect_match "$out" "logged out" "logout"
out=$("$MWG" logout --dir "$D")
expect_match "$out" "no session" "logout again"
python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$LPORT)); print(s.recv(100))" >/dev/null
wait_for_line "$T/connect.err" "not logged in"
expect_match "$(tail -1 "$T/connect.err")" "not logged in" "after logout connect refuses new tunnels"

for c in connect connect2 connect3 connect4; do stop_proc "$c"; done
stop_mwgd
out=$("$MWG" status --dir "$D")
echo "$out"
expect_match "$out" "gateway: unreachable" "status offline"
