#!/usr/bin/env bash
# CONNECT is refused, with a reason and an audit record, without a client
# certificate, with one from another CA, with an expired one, and with a
# (each audited with the exact reason).
. "$(dirname "$0")/common.sh"
setup_default
make_device expired-1 --expired
"$BIN/mwgctl" ca init --dir "$T/other" --host 127.0.0.1 >/dev/null
"$BIN/mwg-testcert" --ca-dir "$T/other" --id stranger-1 --out "$T/stranger-1"
url="http://emis.K84001:$HTTP_PORT/"

try() {	# device expected-status expected-reason what
	local status
	status=$(gw_curl "$1" -v -o /dev/null "$url" 2>&1 | sed -n 's/^< HTTP\/1.1 \([0-9]*\).*/\1/p' | head -1 || true)
	expect_eq "$status" "$2" "$4: status"
	audit_wait ".[\"event.action\"]==\"tunnel.deny\" and .[\"event.reason\"]==\"$3\"" 1
	log "ok: $4: audited '$3'"
}
try - 401 "no client certificate" "no certificate"
try stranger-1 401 "client certificate not accepted: unable to get local issuer certificate" "certificate from another CA"
try expired-1 401 "client certificate not accepted: certificate has expired" "expired certificate"

# A refused certificate is recorded for what it claims, marked unverified.
rec=$(audit_select '.["event.reason"]=="client certificate not accepted: certificate has expired"' | head -1)
expect_eq "$(jq -r '.["tls.client.subject"]' <<<"$rec")" "/CN=alice" "refused certificate's subject audited"
expect_eq "$(jq -r '.["tls.client.verified"]' <<<"$rec")" false "marked unverified"
expect_eq "$(jq -r '.["tls.client.x509.serial_number"]' <<<"$rec")" \
	"$(openssl x509 -in "$T/expired-1.pem" -noout -serial | cut -d= -f2)" "refused certificate's serial audited"
expect_eq "$(jq -r 'has("device.id")' <<<"$rec")" false "an unverified certificate names no device"

# The answer body is JSON with the reason.
body=$(printf 'CONNECT emis.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$HTTP_PORT" | gw_raw - | tail -1)
expect_eq "$(jq -r .error <<<"$body")" certificate-required "JSON error code"
expect_eq "$(jq -r .reason <<<"$body")" "no client certificate" "JSON reason"

# No tunnel was opened.
expect_eq "$(audit_count '.["event.action"]=="tunnel.open"')" 0 "no tunnel.open"
stop_mwgd
