#!/usr/bin/env bash
# Login: PAM password (pam_wrapper + pam_matrix) and TOTP (codes from
# oathtool) give a session certificate that opens tunnels; a device
# certificate alone opens none. The ±1 step window, each code once (also
# under a race), throttling, unknown people, devices that are not yours,
# and every attempt audited with the factor that failed — never told to
# the client.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-4ef9c1
BOB_PW=bob-Pw-77d2aa
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians" "bob:$BOB_PW:gp-clinicians,csu-it"
enrol_device laptop-1 alice
enrol_device shared-1 alice --managed
write_policy
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd
enrol_totp alice
ALICE_TOTP=$TOTP_B32
GENERIC='the user name, password or code is not right'

status_of() { tail -1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

# The device certificate alone opens no tunnel.
out=$(gw_curl laptop-1 -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$out" 401 "CONNECT with a device certificate is refused"
audit_wait '.["event.action"]=="tunnel.deny" and (.["event.reason"]|test("log in first"))' 1
log "ok: tunnel.deny says a session is needed"

totp_settle
# (A right code with a wrong password would be used up: send a wrong one.)
r=$(gw_login laptop-1 alice wrong-password 000000 127.0.0.11)
expect_eq "$(status_of "$r")" 401 "wrong password: 401"
expect_eq "$(body_of "$r" | jq -r .reason)" "$GENERIC" "wrong password: the generic answer"
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code -2)" 127.0.0.12)
expect_eq "$(status_of "$r")" 401 "code two steps old: 401"
expect_eq "$(body_of "$r" | jq -r .reason)" "$GENERIC" "wrong code: the same generic answer"
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code 2)" 127.0.0.13)
expect_eq "$(status_of "$r")" 401 "code two steps ahead: 401"
audit_wait '.["event.action"]=="auth.login" and .["event.outcome"]=="failure" and .["user.name"]=="alice"' 3
expect_eq "$(audit_count '.["event.action"]=="auth.login" and (.["event.reason"]|test("^wrong password"))')" 1 "audit names the wrong password"
expect_eq "$(audit_count '.["event.action"]=="auth.login" and .["event.reason"]=="wrong code"')" 2 "audit names the wrong code, twice"

# Third consecutive failure: the person waits 2 s, from any address.
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)" 127.0.0.14)
expect_eq "$(status_of "$r")" 429 "after three failures the person is slowed down"
audit_wait '.["event.action"]=="auth.login" and .["event.reason"]=="throttled"' 1
sleep 2.2

totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code -1)" 127.0.0.15)
expect_eq "$(status_of "$r")" 200 "code one step old is accepted (clock skew)"
body_of "$r" | jq -r .certificate >"$T/alice-session.pem"
now=$(date +%s)
exp=$(body_of "$r" | jq .expires_at)
[ $((exp - now)) -gt $((12 * 3600 - 120)) ] && [ $((exp - now)) -le $((12 * 3600)) ] ||
	fail "session should live 12 h, lives $((exp - now)) s"
log "ok: session certificate lives 12 h"
expect_eq "$(body_of "$r" | jq -c '.groups|sort')" '["alice","gp-clinicians"]' "groups from NSS in the answer"
openssl verify -CAfile "$T/ca/root.pem" -untrusted "$T/ca/issuing.pem" "$T/alice-session.pem" >/dev/null ||
	fail "session certificate does not verify"
san=$(openssl x509 -in "$T/alice-session.pem" -noout -ext subjectAltName)
expect_match "$san" "urn:mwg:user:alice" "session certificate names the person"
expect_match "$san" "urn:mwg:device:laptop-1" "session certificate names the device"
audit_wait '.["event.action"]=="session.issue" and .["user.name"]=="alice"' 1

r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)" 127.0.0.15)
expect_eq "$(status_of "$r")" 200 "the current code after an older one is accepted"
code=$(totp_code)
r=$(gw_login laptop-1 alice "$ALICE_PW" "$code" 127.0.0.15)
if [ "$(status_of "$r")" = 200 ]; then	# the step moved on: that code was new
	r=$(gw_login laptop-1 alice "$ALICE_PW" "$code" 127.0.0.15)
fi
expect_eq "$(status_of "$r")" 401 "a code is accepted once"
audit_wait '.["event.action"]=="auth.login" and .["event.reason"]=="code already used"' 1

# The race: two logins with one fresh code at the same moment.
code=$(totp_code 1)
gw_login laptop-1 alice "$ALICE_PW" "$code" 127.0.0.16 >"$T/race1" &
r1=$!
gw_login laptop-1 alice "$ALICE_PW" "$code" 127.0.0.17 >"$T/race2" &
r2=$!
wait "$r1" "$r2" || true
ok=$(cat "$T/race1" "$T/race2" | grep -cx 200 || true)
expect_eq "$ok" 1 "two concurrent logins with one code: exactly one succeeds"

# The session certificate opens tunnels; it is the device's own key.
cp "$T/laptop-1.key" "$T/alice-session.key"
open_tunnel alice-session "echo.K84001:$ECHO_PORT" $'ping\n'
read -r -t 5 pong <&"$tout"
expect_eq "$pong" ping "tunnel through the session certificate"
audit_wait '.["event.action"]=="tunnel.open" and .["user.name"]=="alice" and .["device.id"]=="laptop-1"' 1

# Other people and devices.
r=$(gw_login laptop-1 bob "$BOB_PW" 123456 127.0.0.18)
expect_eq "$(status_of "$r")" 403 "bob cannot log in on alice's personal device"
expect_eq "$(body_of "$r" | jq -r .error)" device-not-yours "the answer says whose device it is not"
r=$(gw_login shared-1 carol some-password 123456 127.0.0.19)
expect_eq "$(status_of "$r")" 401 "unknown person: the generic 401"
expect_eq "$(body_of "$r" | jq -r .reason)" "$GENERIC" "unknown person: the same answer"
enrol_totp bob
r=$(gw_login shared-1 bob "$BOB_PW" "$(totp_code)" 127.0.0.19)
expect_eq "$(status_of "$r")" 200 "bob logs in on the managed shared device"
expect_eq "$(body_of "$r" | jq -c '.groups|sort')" '["bob","csu-it","gp-clinicians"]' "bob's groups from NSS"

# Per-address throttling: failures for different names from one address.
for u in x1 x2 x3; do gw_login shared-1 "$u" nope 000000 127.0.0.20 >/dev/null; done
r=$(gw_login shared-1 x4 nope 000000 127.0.0.20)
expect_eq "$(status_of "$r")" 429 "one address guessing many names is slowed down"

# Bad requests.
r=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
	-H 'Content-Type: application/json' --data-binary '{"user":' -w '\n%{http_code}\n' "https://$GW/v1/login")
expect_eq "$(status_of "$r")" 400 "malformed JSON: 400"
r=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" -w '\n%{http_code}\n' "https://$GW/v1/login")
expect_eq "$(status_of "$r")" 405 "GET /v1/login: 405"
r=$(curl -sS --cacert "$T/ca/root.pem" -H 'Content-Type: application/json' \
	--data-binary '{"user":"alice","password":"x","otp":"123456"}' -w '\n%{http_code}\n' "https://$GW/v1/login")
expect_eq "$(status_of "$r")" 401 "login without a device certificate: 401"
expect_eq "$(body_of "$r" | jq -r .error)" certificate-required "... says a device is needed"
head -c 70000 /dev/zero | tr '\0' a >"$T/big"
r=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
	-H 'Content-Type: application/json' --data-binary @"$T/big" -w '\n%{http_code}\n' "https://$GW/v1/login")
expect_eq "$(status_of "$r")" 413 "oversized body: 413"

# No password, code or secret in mwgd's log or the audit trail.
for s in "$ALICE_PW" "$BOB_PW" "$ALICE_TOTP" "$TOTP_B32" wrong-password; do
	if grep -qF -- "$s" "$T/mwgd.log" "$AUDIT"; then fail "a secret reached a log"; fi
done
log "ok: no password or TOTP secret in mwgd.log or the audit trail"
stop_mwgd
