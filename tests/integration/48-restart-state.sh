#!/usr/bin/env bash
# What a restart must and must not keep: a TLS ticket from before it no
# longer resumes (the ticket keys are new), while the CRL is rewritten at
# every start with a larger number and a nextUpdate exactly 7 days after
# its lastUpdate, and still lists what was revoked. The control socket is
# root:control-group 0660 and refuses anyone else.
. "$(dirname "$0")/common.sh"
make_ca
enrol_device laptop-1 alice
enrol_device laptop-2 alice
for i in 3 4 5 6 7; do enrol_device "laptop-$i" alice; done
write_policy
write_conf "control-group adm"
start_backend echo "$ECHO_PORT"
start_mwgd

# The control socket: mode, owner and group; another user cannot use it.
expect_eq "$(stat -c '%a %U %G %F' "$CTL")" "660 root adm socket" "control socket is root:adm 0660"
rc=0; err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/mwgctl" -s "$CTL" status 2>&1) || rc=$?
expect_eq "$rc" 1 "a user outside the group cannot use the control socket"
expect_match "$err" "Permission denied" "... refused by the socket's mode"
out=$(setpriv --reuid=65534 --regid=65534 --groups=4 "$BIN/mwgctl" -s "$CTL" status --json | jq -r .ok)
expect_eq "$out" true "a member of the control group can"

# One CRL: its number, lastUpdate and nextUpdate as numbers.
crl_fields() {	# -> "number last next" (epoch seconds)
	curl -sS --cacert "$T/ca/root.pem" "https://$GW/crl" -o "$T/crl.now.pem"
	openssl crl -in "$T/crl.now.pem" -CAfile "$T/ca/issuing.pem" -noout 2>&1 | grep -q "verify OK" ||
		fail "the CRL does not verify"
	local num
	num=$(openssl crl -in "$T/crl.now.pem" -noout -crlnumber | cut -d= -f2)
	printf '%d %d %d\n' "0x${num#0x}" \
		"$(date -u -d "$(openssl crl -in "$T/crl.now.pem" -noout -lastupdate | cut -d= -f2)" +%s)" \
		"$(date -u -d "$(openssl crl -in "$T/crl.now.pem" -noout -nextupdate | cut -d= -f2)" +%s)"
}
read -r n1 last1 next1 < <(crl_fields)
# lastUpdate is back-dated 60 s for clients whose clocks lag; nextUpdate
# is 7 days after the CRL was written.
expect_eq "$((next1 - last1))" 604860 "nextUpdate is 7 days after the CRL was written"
[ $(( $(date +%s) - last1 - 60 )) -le 60 ] || fail "the CRL at start is old: lastUpdate $last1"
log "ok: written at start (lastUpdate $(date -u -d "@$last1" +%H:%M:%S))"
serial=$(openssl x509 -in "$T/laptop-1.pem" -noout -serial | cut -d= -f2)
"$BIN/mwgctl" -s "$CTL" device revoke laptop-1 --reason "lost on a train" >/dev/null
read -r n2 last2 next2 < <(crl_fields)
[ "$n2" -gt "$n1" ] || fail "the CRL number did not grow at a revocation: $n1 -> $n2"
log "ok: the CRL number grows at a revocation ($n1 -> $n2)"
expect_match "$(openssl crl -in "$T/crl.now.pem" -noout -text)" "Serial Number: 0*$serial" "the revocation is listed"

# A TLS 1.3 ticket from before the restart (it resumes now).
req=$(printf 'GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n')
sc() { timeout 10 openssl s_client -connect "$GW" -CAfile "$T/ca/root.pem" \
	-cert "$T/laptop-2.pem" -key "$T/laptop-2.key" -ign_eof "$@" <<<"$req" 2>&1 || true; }
sc -sess_out "$T/ticket.pem" >/dev/null
[ -s "$T/ticket.pem" ] || fail "no ticket was issued"
expect_match "$(sc -sess_in "$T/ticket.pem")" "Reused, TLSv1.3" "the ticket resumes before the restart"

# A burst of revocations takes CRL numbers ahead of the clock (one per
# CRL); the restart right after must still go on from the last one.
for i in 3 4 5 6 7; do "$BIN/mwgctl" -s "$CTL" device revoke "laptop-$i" --reason "batch" >/dev/null; done
read -r n2 last2 next2 < <(crl_fields)
stop_mwgd
start_mwgd
out=$(sc -sess_in "$T/ticket.pem")
expect_match "$out" "New, TLSv1.3" "after a restart the old ticket is refused: a full handshake"
expect_match "$out" '"device":"laptop-2"' "and the client is still served, with its certificate checked again"
read -r n3 last3 next3 < <(crl_fields)
[ "$n3" -gt "$n2" ] || fail "the CRL number did not grow at a restart: $n2 -> $n3"
log "ok: the CRL number grows at a restart ($n2 -> $n3)"
expect_eq "$((next3 - last3))" 604860 "the rewritten CRL's nextUpdate is 7 days after it"
[ $(( $(date +%s) - last3 - 60 )) -le 60 ] || fail "the CRL was not rewritten at the restart"
expect_match "$(openssl crl -in "$T/crl.now.pem" -noout -text)" "Serial Number: 0*$serial" "the revocation is still listed"
cmp -s "$T/crl.now.pem" "$T/state/crl.pem" || fail "/crl and state-dir/crl.pem differ"
stop_mwgd
