#!/usr/bin/env bash
# A posture report that turns bad closes the device's live SSH tunnel
# within a second or two: tunnel.close posture-failed with the policy's
# reason in mwg.close_detail, and ssh -W exits 255 saying so. A report
# that stays good closes nothing.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ssh-common.sh"
ALICE_PW=alice-Pw-38a9c0
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy 'posture encrypted {
    disk-encryption required
    firewall        required
    max-age         15m
}
role remote {
    groups    home-workers
    practices *
    targets   *
    posture   encrypted
}'
# Only the posture role lets alice in.
sed -i 's/^    groups    gp-clinicians csu-it$/    groups    csu-it/' "$T/policy.conf"
sed -i 's/^    groups    home-workers$/    groups    gp-clinicians/' "$T/policy.conf"
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
post_report() {	# disk firewall: posts a report as laptop-1, prints the status
	jq -nc --arg d "$1" --arg f "$2" --arg t "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{schema:1,
		os:{id:"debian",version:"12",kernel:"6.1.0-26-amd64"}, disk_encryption:$d,
		screen_lock:"yes", firewall:$f, update_age_days:2, security_updates:0,
		client_version:"0.2.0", collected_at:$t}' |
	curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
		-H "Content-Type: application/json" --data-binary @- -o /dev/null -w '%{http_code}' "https://$GW/v1/posture"
}
expect_eq "$(post_report yes yes)" 200 "a good report"
ssh_alice_session

ssh_live "$T/ssh-alice"
expect_eq "$(post_report yes yes)" 200 "another good report"
audit_wait '.["event.action"]=="posture.report"' 2
printf 'still\n' >&"$live_out"
read -r -t 5 line <&"$live_in" || fail "the tunnel went after a good report"
expect_eq "$line" still "a good report leaves the tunnel open"
expect_eq "$(post_report no yes)" 200 "a failing report"
expect_eq "$(ssh_live_end)" rc=255 "ssh -W exits 255"
expect_eq "$(ssh_live_close)" 'posture-failed | posture: disk encryption is off - turn it on and run `mwg posture` (role remote) | default-deny' \
	"tunnel.close posture-failed with the policy's reason"
tr -d '\r' <"$T/live.err" | grep -qxF "Received disconnect from 127.0.0.1 port $SSH_PORT:11: mwg: tunnel to echo.K84001 closed (posture-failed): posture: disk encryption is off - turn it on and run \`mwg posture\` (role remote)" ||
	fail "ssh did not say why: $(cat "$T/live.err")"
log "ok: ssh prints the posture reason"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close"')" 1 "one tunnel.close"
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null
log "ok: audit chain verifies"
