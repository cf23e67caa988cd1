#!/usr/bin/env bash
# TLS as DESIGN §4 fixes it: 1.2 minimum, ECDHE + AEAD only, ALPN
# http/1.1, no compression, no renegotiation; checked with openssl s_client.
. "$(dirname "$0")/common.sh"
setup_default
sc() { timeout 10 openssl s_client -connect "$GW" -CAfile "$T/ca/root.pem" \
	-cert "$T/laptop-1.pem" -key "$T/laptop-1.key" "$@" </dev/null 2>&1 || true; }
expect_match "$(sc -tls1_3)" "New, TLSv1.3, Cipher is TLS_AES_" "TLS 1.3 offered"
expect_match "$(sc -tls1_2)" "Cipher is ECDHE-ECDSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)" "TLS 1.2 with ECDHE and AEAD"
expect_match "$(sc -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')" "(no protocols available|alert protocol version|wrong version number|unsupported protocol)" "TLS 1.1 refused"
expect_match "$(sc -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA')" "(handshake failure|no shared cipher)" "CBC suites refused"
expect_match "$(sc -tls1_2 -cipher 'AES128-GCM-SHA256')" "(handshake failure|no shared cipher)" "static RSA key exchange refused"
expect_match "$(sc -tls1_3 -alpn http/1.1)" "ALPN protocol: http/1.1" "ALPN http/1.1"
expect_match "$(sc -tls1_3 -alpn h2)" "(no application protocol|alert number 120)" "ALPN h2 only refused"
expect_match "$(sc -tls1_2)" "Compression: NONE" "no compression"
expect_match "$(sc -tls1_3)" "Early data was not sent" "no 0-RTT"
# Renegotiation (TLS 1.2): the client asks with 'R'; the server refuses.
out=$({ sleep 1; echo R; sleep 1; } | timeout 10 openssl s_client -tls1_2 -connect "$GW" \
	-CAfile "$T/ca/root.pem" -cert "$T/laptop-1.pem" -key "$T/laptop-1.key" 2>&1 || true)
expect_match "$out" "RENEGOTIATING" "client asked to renegotiate"
expect_match "$out" "SSL routines:ssl3_read_bytes:no renegotiation" "renegotiation refused by the gateway"
stop_mwgd
