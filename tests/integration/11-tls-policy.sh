#!/usr/bin/env bash
# TLS as DESIGN §4 fixes it: 1.2 minimum, ECDHE + AEAD only, ALPN
# http/1.1, no compression, no 0-RTT, no renegotiation; each refusal is
# observed from the server (its alert or its choice, via tls_hello.py and
# openssl s_client), not from the client declining to ask.
. "$(dirname "$0")/common.sh"
setup_default
sc() { timeout 10 openssl s_client -connect "$GW" -CAfile "$T/ca/root.pem" \
	-cert "$T/laptop-1.pem" -key "$T/laptop-1.key" "$@" </dev/null 2>&1 || true; }
expect_match "$(sc -tls1_3)" "New, TLSv1.3, Cipher is TLS_AES_" "TLS 1.3 offered"
expect_match "$(sc -tls1_2)" "Cipher is ECDHE-ECDSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)" "TLS 1.2 with ECDHE and AEAD"
# What the server answers to hellos a modern client library would not even
# send: its alert (70 protocol_version, 40 handshake_failure, 50
# decode_error) or its ServerHello, read off the wire.
hello() { python3 "$(dirname "$0")/tls_hello.py" "$GW_PORT" "$@"; }
expect_eq "$(hello --suites c02b)" "server_hello version=0x0303 cipher=0xc02b compression=0" "a TLS 1.2 ECDHE-ECDSA-AES128-GCM hello is answered"
expect_eq "$(hello --version 0x0302 --suites c02b,c009)" "alert level=2 description=70" "TLS 1.1: the server's protocol_version alert"
expect_eq "$(hello --version 0x0301 --suites c009)" "alert level=2 description=70" "TLS 1.0: the server's protocol_version alert"
expect_eq "$(hello --suites c009,c00a)" "alert level=2 description=40" "CBC suites only: the server's handshake_failure"
expect_eq "$(hello --suites 009c,009d)" "alert level=2 description=40" "static RSA key exchange only: the server's handshake_failure"
expect_eq "$(hello --suites c02b --compression 1,0)" "server_hello version=0x0303 cipher=0xc02b compression=0" "deflate offered: the server chooses none"
expect_eq "$(hello --suites c02b --compression 1)" "alert level=2 description=50" "deflate only: the server refuses"
expect_match "$(sc -tls1_3 -alpn http/1.1)" "ALPN protocol: http/1.1" "ALPN http/1.1"
expect_match "$(sc -tls1_3 -alpn h2)" "(no application protocol|alert number 120)" "ALPN h2 only refused"
# 0-RTT: the server's tickets allow no early data; and early data sent
# anyway (the ticket edited to allow it) is rejected by the server, the
# session still resumes, and the CONNECT inside it never runs.
# TLS 1.3 tickets come after the handshake: stdin stays open until one is.
for _ in $(seq 100); do [ -s "$T/sess.pem" ] && break; sleep 0.05; done |
	timeout 10 openssl s_client -connect "$GW" -CAfile "$T/ca/root.pem" -cert "$T/laptop-1.pem" \
		-key "$T/laptop-1.key" -tls1_3 -sess_out "$T/sess.pem" >/dev/null 2>&1 || true
expect_match "$(openssl sess_id -in "$T/sess.pem" -noout -text)" "Max Early Data: 0" "the server's ticket allows no early data"
python3 "$(dirname "$0")/tls_hello.py" --allow-early-data "$T/sess.pem" >"$T/sess-early.pem"
expect_match "$(openssl sess_id -in "$T/sess-early.pem" -noout -text)" "Max Early Data: 16384" "the edited ticket allows it"
printf 'CONNECT echo.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\nx' "$ECHO_PORT" >"$T/early.txt"
out=$(sc -tls1_3 -sess_in "$T/sess-early.pem" -early_data "$T/early.txt" </dev/null)
expect_match "$out" "Reused, TLSv1.3" "the session resumes"
expect_match "$out" "Early data was rejected" "the server rejects the early data"
expect_eq "$(audit_count '.["event.action"]|test("^tunnel[.]")')" 0 "the CONNECT sent as early data opened nothing"
# Renegotiation (TLS 1.2): the client asks with 'R'; the server refuses.
out=$({ sleep 1; echo R; sleep 1; } | timeout 10 openssl s_client -tls1_2 -connect "$GW" \
	-CAfile "$T/ca/root.pem" -cert "$T/laptop-1.pem" -key "$T/laptop-1.key" 2>&1 || true)
expect_match "$out" "RENEGOTIATING" "client asked to renegotiate"
expect_match "$out" "SSL routines:ssl3_read_bytes:no renegotiation" "renegotiation refused by the gateway"
stop_mwgd
