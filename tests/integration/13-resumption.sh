#!/usr/bin/env bash
# TLS session resumption (DESIGN §6: reconnects stay cheap): a ticket (an
# entry in the server's session cache) from one connection resumes the
# next, the resumed session still carries the device identity, and a
# CONNECT over it is allowed and audited.
. "$(dirname "$0")/common.sh"
setup_default
req=$(printf 'GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n')
sc() { timeout 10 openssl s_client -connect "$GW" -CAfile "$T/ca/root.pem" \
	-cert "$T/laptop-1.pem" -key "$T/laptop-1.key" -ign_eof "$@" <<<"$req" 2>&1 || true; }
first=$(sc -sess_out "$T/session.pem")
expect_match "$first" "New, TLSv1.3" "first connection is a full handshake"
[ -s "$T/session.pem" ] || fail "no session ticket was issued"
second=$(sc -sess_in "$T/session.pem")
expect_match "$second" "Reused, TLSv1.3" "second connection resumes the session"
expect_match "$second" '"device":"laptop-1"' "resumed session keeps the device identity"
sc -tls1_2 -sess_out "$T/s12.pem" >/dev/null; again=$(sc -tls1_2 -sess_in "$T/s12.pem")
expect_match "$again" "Reused, TLSv1.2" "TLS 1.2 resumes (a session id from the cache)"
out=$(printf 'CONNECT emis.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\nGET /resumed HTTP/1.0\r\n\r\n' "$HTTP_PORT" |
	timeout 10 openssl s_client -quiet -connect "$GW" -CAfile "$T/ca/root.pem" \
	-cert "$T/laptop-1.pem" -key "$T/laptop-1.key" -sess_in "$T/session.pem" 2>/dev/null || true)
expect_eq "$(head -1 <<<"$out" | tr -d '\r')" "HTTP/1.1 200 Connection established" "CONNECT over a resumed session"
expect_match "$out" "Path: /resumed" "the practice system answered through it"
audit_wait '.["event.action"]=="tunnel.open" and .["device.id"]=="laptop-1"' 1
stop_mwgd
