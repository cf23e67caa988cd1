#!/usr/bin/env bash
# The CRL lists every certificate the gateway refuses for revocation or
# renewal: a device certificate replaced at renewal (reason Superseded,
# and refused at login at once), then all of a revoked device's
# certificates; and GET /crl serves a CRL of any size whole (2,500 revoked
# devices make one well over the 64 KiB splice buffer).
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
make_ca
D=$T/mwg
mkdir -p "$T/state" "$D"; chmod 700 "$D"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/device.key" 2>/dev/null
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-9 --key "$D/device.key" \
	--not-before "$(date -u -d '-70 days' +%Y-%m-%d)" --store "$T/state" --owner alice --out "$T/old"
cp "$D/device.key" "$T/old.key"
chown -R nobody:nogroup "$T/state"
cp "$T/old.pem" "$D/device.pem"; cp "$T/ca/root.pem" "$D/ca.pem"
cat "$T/ca/issuing.pem" "$T/ca/root.pem" >"$D/cacerts.pem"
echo "$GW" >"$D/gateway"
write_policy
write_conf
start_mwgd

crl_fetch() {	# -> $T/crl.pem, checked against the issuing CA and the file
	curl -sS --cacert "$T/ca/root.pem" -o "$T/crl.pem" -w '%{http_code} %{size_download}\n' \
		"https://$GW/crl" >"$T/crl.status"
	openssl crl -in "$T/crl.pem" -CAfile "$T/ca/issuing.pem" -noout 2>&1 | grep -q "verify OK" ||
		fail "the CRL does not verify"
	cmp -s "$T/crl.pem" "$T/state/crl.pem" || fail "/crl and state-dir/crl.pem differ"
}
crl_number() { openssl crl -in "$T/crl.pem" -noout -crlnumber | cut -d= -f2; }
# The entry for a certificate's serial: its lines of `openssl crl -text`.
crl_entry() {	# cert.pem
	local s; s=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)
	openssl crl -in "$T/crl.pem" -noout -text | grep -A4 "Serial Number: 0*$s\$" || true
}
verify_crl() {	# cert.pem -> openssl verify says, on one line
	openssl verify -crl_check -CRLfile "$T/crl.pem" -CAfile "$T/ca/root.pem" \
		-untrusted "$T/ca/issuing.pem" "$1" 2>&1 | tr "\n" " " | sed "s/ $//" || true
}

crl_fetch
n0=$(crl_number)
expect_eq "$(crl_entry "$T/old.pem")" "" "before renewal the certificate is not listed"
"$MWG" status --dir "$D" >/dev/null 2>"$T/st.err"
expect_match "$(cat "$T/st.err")" "renewed the device certificate of laptop-9" "mwg renews the device certificate"
cp "$D/device.pem" "$T/new.pem"; cp "$D/device.key" "$T/new.key"

r=$(gw_login old alice not-checked 123456)
expect_eq "$(tail -1 <<<"$r")" 403 "login with the replaced certificate: 403"
expect_eq "$(sed '$d' <<<"$r" | jq -r .error)" certificate-replaced "... certificate-replaced"
audit_wait '.["event.action"]=="auth.login" and .["event.reason"]=="device certificate replaced at renewal"' 1

# The CRL is rebuilt at start (and daily): the replaced certificate is in it.
stop_mwgd
start_mwgd
crl_fetch
n1=$(crl_number)
[ "$((n1))" -gt "$((n0))" ] || fail "CRL number did not grow: $n0 then $n1"
log "ok: the CRL number grew ($n0 -> $n1)"
expect_match "$(crl_entry "$T/old.pem")" "CRL Reason Code:[[:space:]]+Superseded" "the replaced certificate is listed as Superseded"
expect_eq "$(crl_entry "$T/new.pem")" "" "the current certificate is not listed"
expect_match "$(verify_crl "$T/old.pem")" "certificate revoked" "openssl verify -crl_check refuses the replaced certificate"
expect_eq "$(verify_crl "$T/new.pem")" "$T/new.pem: OK" "... and accepts the current one"

"$BIN/mwgctl" -s "$CTL" device revoke laptop-9 --reason "stolen" >/dev/null
crl_fetch
for c in old new; do
	e=$(crl_entry "$T/$c.pem")
	[ -n "$e" ] || fail "the revoked device's $c certificate is not in the CRL"
	[[ "$e" =~ "Reason Code" ]] && fail "a revoked device's $c certificate carries a reason code: $e"
	log "ok: the revoked device's $c certificate is listed (no reason code)"
done

# 2,500 more revoked devices (rows written as the daemon's user while it
# is stopped): the CRL is about 75 KiB and is served whole.
stop_mwgd
{
	echo "BEGIN;"
	for i in $(seq 2500); do
		printf "INSERT INTO devices (id, user, practice, managed, key_fpr, cert_serial, enrolled_at, expires_at, revoked_at, revoke_reason) VALUES ('bulk-%d', 'bob', 'K84001', 0, '%064x', '%X', 1, %d, %d, 'bulk');\n" \
			"$i" "$i" "$((0x100000 + i))" "$(( $(date +%s) + 86400 ))" "$(date +%s)"
	done
	echo "COMMIT;"
} | setpriv --reuid=65534 --regid=65534 --clear-groups sqlite3 "$T/state/state.db"
start_mwgd
crl_fetch
read -r status size <"$T/crl.status"
expect_eq "$status" 200 "GET /crl with 2,502 entries: 200"
[ "$size" -gt 65536 ] || fail "the CRL is only $size bytes; the test wants one over 64 KiB"
expect_eq "$size" "$(stat -c %s "$T/state/crl.pem")" "all $size bytes served"
expect_eq "$(openssl crl -in "$T/crl.pem" -noout -text | grep -c 'Serial Number:')" 2502 "every revoked certificate listed"
stop_mwgd
