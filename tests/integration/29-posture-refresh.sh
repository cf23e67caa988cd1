#!/usr/bin/env bash
# mwg login and mwg connect post a
# fresh posture report when the last is older than half the max-age.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ALICE_PW=alice-Pw-93c1e2
make_ca
setup_identity "alice:$ALICE_PW:locums"
write_policy "posture fresh {
    max-age 10m
}
role tester {
    groups locums
    practices *
    targets echo
    posture fresh
}"
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd
enrol_totp alice
D=$T/mwg
LPORT=$((BASE + 10))
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null
echo_once() {	# text -> what came back
	python3 - "$LPORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR)
b = b""
while True:
    d = s.recv(4096)
    if not d: break
    b += d
print(b.decode(), end="")
PY
}
reports() { audit_count '.["event.action"]=="posture.report"'; }
expect_eq "$(reports)" 0 "no report before login"
totp_settle
out=$(printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code)" 2>"$T/login.err")
log "$out"; cat "$T/login.err"
expect_match "$out" "logged in as alice" "login with posture required"
audit_wait '.["event.action"]=="posture.report"' 1
expect_eq "$(jq .max_age "$D/posture.json")" 600 "stamp keeps the max-age"
expect_eq "$(stat -c %a "$D/posture.json")" 600 "stamp 0600"
now=$(date +%s); sent=$(jq .sent_at "$D/posture.json")
[ $((now - sent)) -le 5 ] || fail "sent_at $sent is not now $now"
first=$(audit_select '.["event.action"]=="posture.report" or .["event.action"]=="auth.login"' | jq -r '.["event.action"]' | head -1)
expect_eq "$first" posture.report "the report went before the login"

printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code 1)" >/dev/null
expect_eq "$(reports)" 1 "a fresh stamp: no new report"

echo "{\"sent_at\": $((now - 301)), \"max_age\": 600}" >"$D/posture.json"
sleep 31
printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code 1)" >/dev/null
audit_wait '.["event.action"]=="posture.report"' 2
log "ok: a half-aged stamp: a new report at login"

echo "{\"sent_at\": $((now - 301)), \"max_age\": 600}" >"$D/posture.json"
"$MWG" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" >"$T/connect.out" 2>"$T/connect.err" &
proc_track connect $! 143 "$T/connect.err"
wait_port "$LPORT"
audit_wait '.["event.action"]=="posture.report"' 3
log "ok: connect sends one before listening"
echo "{\"sent_at\": $((now - 301)), \"max_age\": 600}" >"$D/posture.json"
r=$(echo_once ping)
expect_eq "$r" "ping" "tunnel works"
audit_wait '.["event.action"]=="posture.report"' 4
log "ok: and before a tunnel once the stamp is half-aged"
r=$(echo_once pong)
expect_eq "$r" "pong" "second tunnel works"
expect_eq "$(reports)" 4 "no report for a tunnel while fresh"
cat "$T/connect.err"
out=$("$MWG" posture --dir "$D")
echo "$out"
audit_select '.["event.action"]=="posture.report"' | tail -1
stop_proc connect
stop_mwgd
