#!/usr/bin/env bash
# Device posture: reports posted on the device-authenticated connection,
# checked strictly, stored, audited with the checks that fail, enforced
# by the role's posture profile at every CONNECT; a report that turns bad
# closes the device's live tunnels within a second. Plus mwg posture
# against a fixture tree.
. "$(dirname "$0")/common.sh"
make_ca
enrol_device laptop-1 alice
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-1 --key "$T/laptop-1.key" \
	--user alice --group gp-clinicians --out "$T/session"
cp "$T/laptop-1.key" "$T/session.key"
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
# The test role "staff" must not let alice past the posture rule here.
sed -i 's/^    groups    gp-clinicians csu-it$/    groups    csu-it/' "$T/policy.conf"
sed -i 's/^    groups    home-workers$/    groups    gp-clinicians/' "$T/policy.conf"
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd

report() {	# disk firewall -> a report on stdout
	jq -nc --arg d "$1" --arg f "$2" --arg t "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{schema:1,
		os:{id:"debian",version:"12",kernel:"6.1.0-26-amd64"}, disk_encryption:$d,
		screen_lock:"yes", firewall:$f, update_age_days:2, security_updates:0,
		client_version:"0.2.0", collected_at:$t}'
}
post() {	# body-file [content-type] -> body then status line
	curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
		-H "Content-Type: ${2:-application/json}" --data-binary @"$1" -w '\n%{http_code}\n' "https://$GW/v1/posture"
}
connect_code() {
	curl -sS -p -x "https://$GW" --proxy-cacert "$T/ca/root.pem" --proxy-cert "$T/session.pem" \
		--proxy-key "$T/session.key" -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true
}

expect_eq "$(connect_code)" 403 "no posture report: CONNECT refused"
audit_wait '.["event.action"]=="tunnel.deny" and (.["event.reason"]|test("no report"))' 1

report yes yes >"$T/good.json"
r=$(post "$T/good.json")
expect_eq "$(tail -1 <<<"$r")" 200 "a good report is accepted"
expect_eq "$(sed '$d' <<<"$r" | jq -c .failed)" '[]' "... and fails no check"
expect_eq "$(sed '$d' <<<"$r" | jq .max_age)" 900 "... and says how long it counts"
audit_wait '.["event.action"]=="posture.report" and .["event.outcome"]=="success" and .["device.id"]=="laptop-1"' 1
expect_eq "$(connect_code)" 200 "fresh, compliant posture: CONNECT allowed"

open_tunnel session "echo.K84001:$ECHO_PORT"
report no yes >"$T/bad.json"
t0=$(date +%s%3N)
r=$(post "$T/bad.json")
expect_eq "$(tail -1 <<<"$r")" 200 "a failing report is stored too"
expect_eq "$(sed '$d' <<<"$r" | jq -c .failed)" '["disk-encryption"]' "... naming the failed check"
while read -r -t 5 _ <&"$tout"; do :; done
took=$(( $(date +%s%3N) - t0 ))
[ "$took" -lt 1000 ] || fail "tunnel closed $took ms after the failing report"
log "ok: live tunnel closed $took ms after a failing report"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="posture-failed" and .["device.id"]=="laptop-1"' 1
expect_eq "$(audit_count '.["event.action"]=="tunnel.close" and .["event.reason"]=="policy-changed"')" 0 "no reload happened: no policy-changed close"
expect_eq "$(grep -c 'closed after reload' "$T/mwgd.log" || true)" 0 "no reload happened: the log does not say reload"
expect_match "$(grep 'tunnel to echo.K84001' "$T/mwgd.log" | grep -m1 'closed (posture-failed)')" 'closed \(posture-failed\): posture: disk encryption is off' "the log names the posture failure"
audit_wait '.["event.action"]=="posture.report" and .["event.outcome"]=="failure" and (.["posture.failed"]|index("disk-encryption"))' 1
expect_eq "$(connect_code)" 403 "disk encryption off: CONNECT refused"
audit_wait '.["event.action"]=="tunnel.deny" and (.["event.reason"]|test("disk encryption"))' 1
log "ok: the refusal says what to fix"

# Bad reports: each refused, audited, and the stored report unchanged.
printf '{"schema":1' >"$T/trunc.json"
expect_eq "$(post "$T/trunc.json" | tail -1)" 400 "truncated JSON: 400"
report yes yes | jq -c '. + {apps:["x"]}' >"$T/extra.json"
r=$(post "$T/extra.json")
expect_eq "$(tail -1 <<<"$r")" 400 "an unknown field (more data than declared): 400"
report maybe yes >"$T/type.json"
expect_eq "$(post "$T/type.json" | tail -1)" 400 "a value outside yes/no/unknown: 400"
head -c 5000 /dev/zero | tr '\0' ' ' >"$T/big.json"
expect_eq "$(post "$T/big.json" | tail -1)" 413 "an oversized report: 413"
expect_eq "$(post "$T/good.json" text/plain | tail -1)" 415 "wrong media type: 415"
r=$(curl -sS --cacert "$T/ca/root.pem" -H 'Content-Type: application/json' --data-binary @"$T/good.json" -w '\n%{http_code}\n' "https://$GW/v1/posture")
expect_eq "$(tail -1 <<<"$r")" 401 "no device certificate: 401"
audit_wait '.["event.action"]=="posture.report" and .["event.outcome"]=="failure" and .["event.reason"]!=null' 3
expect_eq "$(connect_code)" 403 "the last good report still stands (bad ones changed nothing)"

# A role that wants an organisation-owned device refuses this personal one.
sed -i 's/^    posture   encrypted$/    posture   encrypted\n    device    managed/' "$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
expect_eq "$(connect_code)" 403 "a personal device where the role wants a managed one: 403"
audit_wait '.["event.action"]=="tunnel.deny" and (.["event.reason"]|test("managed"))' 1
log "ok: the refusal names the managed-device rule"

# mwg posture: collect from a fixture tree and post it.
D=$T/mwg
mkdir -p "$D" && chmod 700 "$D"
cp "$T/laptop-1.key" "$D/device.key"; cp "$T/laptop-1.pem" "$D/device.pem"
cp "$T/ca/root.pem" "$D/ca.pem"; echo "$GW" >"$D/gateway"
cat "$T/ca/issuing.pem" "$T/ca/root.pem" >"$D/cacerts.pem"
fixture=$(ls -d tests/fixtures/posture/*/ | head -1)
out=$("$BIN/mwg" posture --dir "$D" --root "$fixture" --show)
expect_eq "$(jq -c 'keys' <<<"$out")" '["client_version","collected_at","disk_encryption","firewall","os","schema","screen_lock","security_updates","update_age_days"]' "mwg posture --show prints the report, with nothing beyond its fields"
expect_eq "$(jq -c '.os|keys' <<<"$out")" '["id","kernel","version"]' "... and os holds id, version and kernel only"
"$BIN/mwg" posture --dir "$D" --root "$fixture" >/dev/null
audit_wait '.["event.action"]=="posture.report" and .["mwg.client_version"]!=null and .["mwg.client_version"]!="0.2.0"' 1
log "ok: mwg posture posts a report the gateway accepts"
stop_mwgd
