#!/usr/bin/env bash
# Enrolment over EST (RFC 7030) with nothing but curl and openssl on the
# client side: /cacerts, simpleenroll with an enrolment code, the issued
# certificate verifies against /cacerts and names the device the gateway
# chose (never the CSR's subject). Then every bad input (explicit curve
# parameters, an enrolled key spelled otherwise too): each a clear error,
# an audit record, and no state changed.
. "$(dirname "$0")/common.sh"
make_ca
write_policy
write_conf
start_mwgd
EST=https://$GW/.well-known/est

new_code() {	# -> ID:SECRET, the secret collected for the scan
	enrol_code_create --user alice --practice K84001 --label "home laptop" 2>/dev/null
}
csr_b64() {	# keyfile -> base64 DER CSR on stdout
	openssl req -new -key "$1" -subj "/CN=evil-admin/O=NHS" -outform DER | openssl base64 -e
}
enroll() {	# code csrfile [content-type] -> body, then status line
	curl -sS --max-time 10 --cacert "$T/ca/root.pem" -u "$1" \
		-H "Content-Type: ${3:-application/pkcs10}" --data-binary @"$2" \
		-w '\n%{http_code}\n' "$EST/simpleenroll"
}
status_of() { tail -1 <<<"$1"; }

code=$(new_code)
expect_match "$code" '^[a-z2-7]{10}:[a-z2-7]{32}$' "enrol-code create prints ID:SECRET"
expect_eq "$(audit_count '.["event.action"]=="enrol.code.create" and .["user.name"]=="alice" and .["user.id"]=='"$(id -u)")" 1 "code creation audited with the admin's uid"

curl -sS --cacert "$T/ca/root.pem" -D "$T/h" -o "$T/cacerts.b64" "$EST/cacerts"
expect_match "$(tr -d '\r' <"$T/h")" "Content-Type: application/pkcs7-mime; smime-type=certs-only" "cacerts media type"
expect_match "$(tr -d '\r' <"$T/h")" "Content-Transfer-Encoding: base64" "cacerts transfer encoding"
openssl base64 -d -in "$T/cacerts.b64" | openssl pkcs7 -inform DER -print_certs -out "$T/cacerts.pem"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' "$T/cacerts.pem")" 2 "cacerts holds the issuing CA and the root"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/dev.key" 2>/dev/null
csr_b64 "$T/dev.key" >"$T/csr.b64"
r=$(enroll "$code" "$T/csr.b64")
expect_eq "$(status_of "$r")" 200 "simpleenroll with a valid code"
sed '$d' <<<"$r" | openssl base64 -d | openssl pkcs7 -inform DER -print_certs -out "$T/dev.pem"
openssl verify -CAfile "$T/cacerts.pem" "$T/dev.pem" >/dev/null || fail "issued certificate does not verify against /cacerts"
log "ok: issued certificate verifies against /cacerts"
subj=$(openssl x509 -in "$T/dev.pem" -noout -subject)
expect_match "$subj" "CN ?= ?dev-[a-z2-7]{10}" "the gateway names the device"
[[ "$subj" != *evil-admin* ]] || fail "the CSR's subject was copied"
dev=$(sed -E 's/.*CN ?= ?//' <<<"$subj")
expect_match "$(openssl x509 -in "$T/dev.pem" -noout -ext subjectAltName)" "urn:mwg:device:$dev" "SAN URI names the device"
[ "$(openssl x509 -in "$T/dev.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/dev.key" -pubout)" ] || fail "certificate is not for our key"
audit_wait '.["event.action"]=="enrol.issue" and .["device.id"]=="'"$dev"'" and .["user.name"]=="alice" and .["organization.id"]=="K84001"' 1
expect_match "$("$BIN/mwgctl" -s "$CTL" device list)" "$dev +alice +K84001 +no" "device list shows the new device"
who=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/dev.pem" --key "$T/dev.key" "https://$GW/v1/whoami")
expect_eq "$(jq -r .device <<<"$who")" "$dev" "whoami knows the enrolled device"

# The same code again, a wrong secret, an unknown code.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/dev2.key" 2>/dev/null
csr_b64 "$T/dev2.key" >"$T/csr2.b64"
r=$(enroll "$code" "$T/csr2.b64")
expect_eq "$(status_of "$r")" 401 "a used code is refused"
expect_eq "$(sed '$d' <<<"$r" | jq -r .error)" enrolment-code-refused "... with one answer for every refusal"
audit_wait '.["event.action"]=="enrol.request" and (.["event.reason"]|test("used"))' 1
code2=$(new_code)
r=$(enroll "${code2%%:*}:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "$T/csr2.b64")
expect_eq "$(status_of "$r")" 401 "a wrong secret is refused"
r=$(curl -sS --cacert "$T/ca/root.pem" -D "$T/h401" -H 'Content-Type: application/pkcs10' --data-binary @"$T/csr2.b64" -w '\n%{http_code}\n' "$EST/simpleenroll")
expect_eq "$(status_of "$r")" 401 "no code at all: 401"
expect_match "$(tr -d '\r' <"$T/h401")" 'WWW-Authenticate: Basic realm="mwg enrolment"' "... naming HTTP Basic (RFC 7235)"

# Bad bodies with a good code: refused, and the code is still usable.
printf 'this is not base64 at all!!' >"$T/garbage"
expect_eq "$(status_of "$(enroll "$code2" "$T/garbage")")" 400 "base64 garbage: 400"
openssl base64 -d -in "$T/csr2.b64" >"$T/csr2.der"
head -c 40 "$T/csr2.der" | openssl base64 -e >"$T/trunc.b64"
expect_eq "$(status_of "$(enroll "$code2" "$T/trunc.b64")")" 400 "truncated CSR: 400"
python3 - "$T/csr2.der" "$T/bad-sig.der" <<'PY'
import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[-3] ^= 0x55; open(sys.argv[2], 'wb').write(d)
PY
openssl base64 -e -in "$T/bad-sig.der" >"$T/bad-sig.b64"
r=$(enroll "$code2" "$T/bad-sig.b64")
expect_eq "$(status_of "$r")" 400 "CSR whose signature does not match: 400"
expect_match "$(sed '$d' <<<"$r" | jq -r .reason)" "signature" "... and says it is the signature"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa2048.key" 2>/dev/null
csr_b64 "$T/rsa2048.key" >"$T/rsa.b64"
r=$(enroll "$code2" "$T/rsa.b64")
expect_eq "$(status_of "$r")" 400 "RSA-2048 key: 400"
expect_match "$(sed '$d' <<<"$r" | jq -r .reason)" "key" "... and says the key is not allowed"
# Explicit curve parameters, even P-256's own, are refused: 400 (the code
# stays usable, below).
openssl ecparam -name prime256v1 -param_enc explicit -genkey -noout -out "$T/explicit.key" 2>/dev/null
csr_b64 "$T/explicit.key" >"$T/explicit.b64"
openssl base64 -d -in "$T/explicit.b64" | openssl req -inform DER -noout -text | grep -q "Field Type: prime-field" ||
	fail "the test CSR does not carry explicit parameters"
r=$(enroll "$code2" "$T/explicit.b64")
expect_eq "$(status_of "$r")" 400 "EC key with explicit curve parameters: 400"
expect_eq "$(sed '$d' <<<"$r" | jq -r .reason)" "bad certificate request: key type not allowed: EC key with explicit curve parameters (need a named curve, P-256 or P-384)" "... and says why"
expect_eq "$(status_of "$(enroll "$code2" "$T/csr2.b64" application/json)")" 415 "wrong media type: 415"
head -c 70000 /dev/zero | tr '\0' A >"$T/huge"
expect_eq "$(status_of "$(enroll "$code2" "$T/huge")")" 413 "oversized body: 413"
expect_eq "$(status_of "$(enroll "$code2" "$T/csr.b64")")" 409 "a key already enrolled: 409"
# The enrolled key again, its point compressed: other SPKI bytes, same key.
openssl ec -in "$T/dev.key" -conv_form compressed -out "$T/dev-compressed.key" 2>/dev/null
csr_b64 "$T/dev-compressed.key" >"$T/compressed.b64"
[ "$(openssl base64 -d -in "$T/compressed.b64" | openssl req -inform DER -noout -pubkey)" != \
	"$(openssl base64 -d -in "$T/csr.b64" | openssl req -inform DER -noout -pubkey)" ] ||
	fail "the compressed CSR carries the same SPKI bytes"
r=$(enroll "$code2" "$T/compressed.b64")
expect_eq "$(status_of "$r")" 409 "the enrolled key with a compressed point: 409"
expect_eq "$(sed '$d' <<<"$r" | jq -r .error)" key-in-use "... as the key of an enrolled device"
r=$(enroll "$code2" "$T/csr2.b64")
expect_eq "$(status_of "$r")" 200 "after all that, the code still enrols once"
expect_eq "$("$BIN/mwgctl" -s "$CTL" device list --json | jq '.devices|length')" 2 "two devices in the store, no more"

# Renewal is for the last third of a certificate's life.
r=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/dev.pem" --key "$T/dev.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/csr.b64" -w '\n%{http_code}\n' "$EST/simplereenroll")
expect_eq "$(status_of "$r")" 403 "renewal of a new certificate is refused"
expect_match "$(sed '$d' <<<"$r" | jq -r .reason)" "renewal" "... saying when renewal opens"

# The CRL is published and signed by the issuing CA.
curl -sS --cacert "$T/ca/root.pem" -o "$T/crl.pem" "https://$GW/crl"
openssl crl -in "$T/crl.pem" -CAfile "$T/ca/issuing.pem" -noout 2>&1 | grep -q "verify OK" || fail "CRL does not verify"
log "ok: /crl serves a CRL signed by the issuing CA"
stop_mwgd
