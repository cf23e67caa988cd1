#!/usr/bin/env bash
# Request body framing: only a plain Content-Length frames a body. Chunked
# (or any Transfer-Encoding) gets 411; a negative, signed, hex, list,
# overflowing or repeated Content-Length, or one beside Transfer-Encoding,
# gets 400; over 64 KiB gets 413. Each refusal is audited; a well-framed
# body reaches its handler.
. "$(dirname "$0")/common.sh"
setup_default
# The first line and the JSON body of the answer to a POST with fields.
post() {	# header-lines (with \r\n between) [body]
	printf 'POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%b\r\n\r\n%s' \
		"$1" "${2:-}" | gw_raw laptop-1 | tr -d '\r' | sed -n '1p;$p' | paste -sd ' '
}
expect_answer() {	# fields status error what
	local got
	got=$(post "$1" '{}')
	expect_eq "${got%% \{*}" "HTTP/1.1 $2" "$4: status"
	expect_eq "$(jq -r .error <<<"{${got#* \{}")" "$3" "$4: error code"
}
expect_answer 'Transfer-Encoding: chunked' "411 Length Required" length-required "chunked"
expect_answer 'Transfer-Encoding: identity' "411 Length Required" length-required "any Transfer-Encoding"
expect_answer 'Content-Length: -1' "400 Bad Request" bad-request "negative Content-Length"
expect_answer 'Content-Length: +2' "400 Bad Request" bad-request "signed Content-Length"
expect_answer 'Content-Length: 0x2' "400 Bad Request" bad-request "hex Content-Length"
expect_answer 'Content-Length: 2, 2' "400 Bad Request" bad-request "Content-Length as a list"
expect_answer 'Content-Length: 10000000000000000000' "400 Bad Request" bad-request "Content-Length beyond a long"
expect_answer 'Content-Length: 99999999999999999999' "400 Bad Request" bad-request "Content-Length beyond 64 bits"
expect_answer 'Content-Length: 2\r\nContent-Length: 2' "400 Bad Request" bad-request "Content-Length twice, same value"
expect_answer 'Content-Length: 2\r\nContent-Length: 3' "400 Bad Request" bad-request "Content-Length twice, two values"
expect_answer 'Content-Length: 2\r\nTransfer-Encoding: chunked' "400 Bad Request" bad-request "Content-Length beside chunked"
expect_answer 'Content-Length: 65537' "413 Payload Too Large" body-too-large "body over 64 KiB"
# Framed well, the body reaches the login handler, which judges it.
got=$(post 'Content-Length: 2' '{}')
expect_eq "${got%% \{*}" "HTTP/1.1 400 Bad Request" "a framed body reaches its handler"
expect_match "$got" '"reason":"user: a string' "and the handler read it"
audit_wait '.["event.action"]=="request.reject" and .["http.response.status_code"]==411' 2
audit_wait '.["event.action"]=="request.reject" and .["http.response.status_code"]==413' 1
audit_wait '.["event.action"]=="request.reject" and .["http.response.status_code"]==400' 9
expect_eq "$(audit_count '.["event.action"]=="request.reject" and .["http.response.status_code"]==400')" 9 "every 400 framing refusal audited, once"
stop_mwgd
