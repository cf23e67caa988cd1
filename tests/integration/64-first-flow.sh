#!/usr/bin/env bash
# The documented first flow against the shipped examples: deploy/mwgd.conf
# and deploy/policy.conf with only their paths, addresses and users moved
# into the test's directory, an enrolment code made as it-guide §2.1 shows
# (a personal laptop, no --managed), the TOTP of it-guide §3.1, and the
# clinician guide's steps (enrol, posture, login, connect) ending in a page
# from the practice system, allowed by the role for personal laptops.
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MWG=$BIN/mwg
ALICE_PW=alice-Pw-64f1a7
D=$T/laptop
LPORT=$((BASE + 10))
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
mkdir -p "$T/keys" "$T/state"		# the audit key's directory is root's
chown nobody:nogroup "$T/state" 2>/dev/null || true

# The shipped policy, with K84001's emis moved to the stand-in; nothing else.
sed -E "/^practice K84001 /,/^}/ s|^( *target emis +)[^ ]+$|\\1127.0.0.1:$HTTP_PORT|" \
    "$ROOT/deploy/policy.conf" >"$T/policy.conf"
changed=$(diff "$ROOT/deploy/policy.conf" "$T/policy.conf" | grep -c '^>' || true)
expect_eq "$changed" 1 "the test policy differs from deploy/policy.conf in one line"

# The shipped mwgd.conf, with every path, address and account moved here.
sed -E -e "s|^user +mwg$|user nobody|; s|^group +mwg$|group nogroup|" \
    -e "s|^state-dir +/var/lib/mwg/state |state-dir $T/state |" \
    -e "s|^policy +/etc/mwg/policy.conf|policy $T/policy.conf|" \
    -e "s|^control +/run/mwg/control|control $CTL|" \
    -e "s|^control-group mwg-admin |control-group nogroup |" \
    -e "s|^audit-control /run/mwg/audit-control |audit-control $T/audit-control.sock |" \
    -e "s|^audit-control-group mwg-audit$|audit-control-group nogroup|" \
    -e "s|^listen tls 0.0.0.0:443 |listen tls $GW |" \
    -e "s|/etc/mwg/ca/|$T/ca/|" \
    -e "s|^( *file) +/var/log/mwg/audit.jsonl$|\\1 $AUDIT|" \
    -e "s|^( *key) +/var/lib/mwg/audit.key |\\1 $T/keys/audit.key |" \
    -e "s|^network-root /var/empty |network-root $T/empty |" \
    "$ROOT/deploy/mwgd.conf" >"$T/mwgd.conf"
if grep -vE '^ *#' "$T/mwgd.conf" | grep -nE '/etc/mwg|/var/|/run/mwg|0\.0\.0\.0|^user mwg|^group mwg'; then
	fail "deploy/mwgd.conf has lines the test does not move (above)"
fi
AUDIT_PUB=$T/keys/audit.key.pub
out=$("$BIN/mwgd" -n -f "$T/mwgd.conf" 2>&1) || fail "mwgd -n refused the shipped mwgd.conf: $out"
expect_match "$out" "configuration OK \(" "mwgd -n on the shipped mwgd.conf and policy.conf"

start_backend http "$HTTP_PORT"
start_mwgd

# IT, it-guide §2.1 and §3.1.
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001 \
    --label "alice home laptop" --ttl 2h 2>"$T/code.err")
expect_match "$code" '^[a-z2-7]+:[a-z2-7]+$' "it-guide §2.1: enrol-code create prints ID:SECRET"
printf '%s\n' "${code#*:}" >>"$COLLECT_SECRETS_FILE"
enrol_totp alice

# it-guide §2.2: the root certificate to hand out, from the gateway itself
# (public, no certificate needed); its fingerprint is compared with the
# one ca init printed before anyone trusts it.
curl -sS --max-time 10 --insecure -o "$T/handout-root.pem" -w '%{http_code} %{content_type}\n' \
    "https://$GW/root.pem" >"$T/root.status"
expect_eq "$(cat "$T/root.status")" "200 application/x-pem-file" "GET /root.pem: 200, PEM"
cmp -s "$T/handout-root.pem" "$T/ca/root.pem" || fail "GET /root.pem is not the root CA certificate"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
expect_eq "$(fp "$T/handout-root.pem")" "$(fp "$T/ca/root.pem")" "GET /root.pem: the fingerprint ca init printed"
expect_eq "$(curl -sS --max-time 10 --insecure -o /dev/null -w '%{http_code}' -X POST --data x "https://$GW/root.pem")" 405 \
    "POST /root.pem: 405"

# alice, clinician guide steps 1, 3 and 4, on a laptop whose disk is
# encrypted and whose screen locks (the posture fixture stands in for /).
out=$("$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/handout-root.pem" --code "$code")
expect_match "$out" "enrolled this device as dev-[a-z2-7]+ with the gateway $GW" "mwg enrol"
out=$("$BIN/mwgctl" -s "$CTL" device list)
expect_match "$out" "alice +K84001 +no " "device list: alice's laptop is personal (MANAGED no)"
"$MWG" posture --dir "$D" --root "$ROOT/tests/fixtures/posture/debian12-luks-lvm" >"$T/posture.out"
totp_settle
out=$(printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code)")
log "$out"
expect_match "$out" "roles: (.*, )?clinician-home(,|\n|$)" "login: alice holds clinician-home"

"$MWG" connect --dir "$D" "emis.K84001:$HTTP_PORT" --listen "127.0.0.1:$LPORT" >"$T/connect.out" 2>"$T/connect.err" &
PIDS+=($!)
wait_port "$LPORT"
page=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/appointments")
expect_eq "$page" 200 "the practice system answers through mwg connect"
audit_wait '.["event.action"] == "tunnel.open" and .["event.outcome"] == "success"' 1
rule=$(audit_select '.["event.action"] == "tunnel.open"' | jq -r '.["rule.id"]' | sort -u)	# wait_port's probe is one too
expect_eq "$rule" "role clinician-home" "tunnel.open: allowed by role clinician-home"

# The guides' table: which enrolment meets which role (policy explain, offline).
explain() { "$BIN/mwgctl" policy explain --policy "$T/policy.conf" --user alice \
    --group gp-clinicians --target emis.K84001 --at "2026-12-02T10:00:00Z" "$@" | grep '^decision:'; }
expect_eq "$(explain --managed --posture ok)" "decision: ALLOW by role clinician: allowed by role clinician" \
    "a --managed device passing the managed profile gets clinician"
expect_eq "$(explain --posture ok)" "decision: ALLOW by role clinician-home: allowed by role clinician-home" \
    "a personal device passing the managed profile gets clinician-home"
rc=0; out=$(explain --posture ok,disk-encryption=off) || rc=$?
expect_eq "$rc" 1 "a personal device without disk encryption is denied"
stop_mwgd
