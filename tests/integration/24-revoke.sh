#!/usr/bin/env bash
# Revocation: `mwgctl device revoke` closes the device's live tunnels
# within a second, refuses it at the handshake check on every endpoint
# (device and session certificates alike), puts its serial in the CRL
# served at /crl, shows in `device list`, and is audited.
. "$(dirname "$0")/common.sh"
make_ca
enrol_device laptop-1 alice
# A session certificate for the same device key, as login would issue.
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-1 --key "$T/laptop-1.key" \
	--user alice --group gp-clinicians --out "$T/session"
cp "$T/laptop-1.key" "$T/session.key"
make_device laptop-2
write_policy
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd
serial=$(openssl x509 -in "$T/laptop-1.pem" -noout -serial | cut -d= -f2)

open_tunnel session "echo.K84001:$ECHO_PORT"
t0=$(date +%s%3N)
out=$("$BIN/mwgctl" -s "$CTL" device revoke laptop-1 --reason "lost on a train")
expect_match "$out" "closed 1 tunnel" "revoke says it closed the tunnel"
while read -r -t 5 _ <&"$tout"; do :; done
took=$(( $(date +%s%3N) - t0 ))
[ "$took" -lt 1000 ] || fail "tunnel closed after $took ms, not within 1 s"
log "ok: the revoked device's tunnel closed $took ms after revocation"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="device-revoked"' 1
expect_eq "$(audit_count '.["event.action"]=="device.revoke" and .["device.id"]=="laptop-1" and .["user.id"]=='"$(id -u)"' and .["event.reason"]=="lost on a train"')" 1 "device.revoke audited"

code=$(curl -sS -p -x "https://$GW" --proxy-cacert "$T/ca/root.pem" --proxy-cert "$T/session.pem" \
	--proxy-key "$T/session.key" -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 401 "the revoked device's session certificate opens nothing"
audit_wait '.["event.action"]=="tunnel.deny" and .["device.id"]=="laptop-1" and (.["event.reason"]|test("revoked"))' 1
who=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" -w '\n%{http_code}' "https://$GW/v1/whoami")
expect_eq "$(tail -1 <<<"$who")" 401 "whoami refuses the revoked device certificate"
code=$(gw_curl laptop-2 -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 200 "other devices are not affected"

curl -sS --cacert "$T/ca/root.pem" -o "$T/crl.pem" "https://$GW/crl"
openssl crl -in "$T/crl.pem" -CAfile "$T/ca/issuing.pem" -noout 2>&1 | grep -q "verify OK" || fail "CRL does not verify"
expect_match "$(openssl crl -in "$T/crl.pem" -noout -text)" "Serial Number: 0*$serial" "the CRL lists the revoked certificate"
cmp -s "$T/crl.pem" "$T/state/crl.pem" || fail "/crl and the CRL file differ"
log "ok: /crl and state-dir/crl.pem are the same"
# The same chain and CRL accept a device that is not revoked, so the
# refusal below is the revocation, not a broken chain.
vfy() { openssl verify -crl_check -CRLfile "$T/crl.pem" -CAfile "$T/ca/root.pem" \
	-untrusted "$T/ca/issuing.pem" "$1" 2>&1 || true; }
expect_eq "$(vfy "$T/laptop-2.pem")" "$T/laptop-2.pem: OK" "openssl verify -crl_check accepts a device not revoked"
expect_match "$(vfy "$T/laptop-1.pem")" "error 23 at 0 depth lookup: certificate revoked" "openssl verify -crl_check refuses the revoked certificate as revoked"
expect_match "$("$BIN/mwgctl" -s "$CTL" device list)" "laptop-1 .* revoked" "device list shows it revoked"

rc=0; err=$("$BIN/mwgctl" -s "$CTL" device revoke no-such-device --reason x 2>&1) || rc=$?
expect_eq "$rc" 1 "revoking an unknown device exits 1"
expect_match "$err" "no device no-such-device" "... and says so"

# Revocation survives a restart (it lives in the store).
stop_mwgd
start_mwgd
who=$(curl -sS --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" -w '\n%{http_code}' "https://$GW/v1/whoami")
expect_eq "$(tail -1 <<<"$who")" 401 "still refused after a restart"
stop_mwgd
