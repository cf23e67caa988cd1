#!/usr/bin/env bash
# The console's devices page and mwgctl device list --json say what the
# newest posture report of each device failed (issue 18: "last posture
# and what failed"): the failed checks of a failing report, "none" for a
# clean one, "-" (null) for a device that never reported.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
console_setup
start_console

report() {	# disk firewall -> a report on stdout (as 28 posts)
	jq -nc --arg d "$1" --arg f "$2" --arg t "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{schema:1,
		os:{id:"debian",version:"12",kernel:"6.1.0-26-amd64"}, disk_encryption:$d,
		screen_lock:"yes", firewall:$f, update_age_days:2, security_updates:0,
		client_version:"0.2.0", collected_at:$t}'
}
post() {	# device body-file -> HTTP status
	curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$T/$1.pem" --key "$T/$1.key" \
		-H "Content-Type: application/json" --data-binary @"$2" -o /dev/null -w '%{http_code}' "https://$GW/v1/posture"
}

report no no >"$T/bad.json"
report yes yes >"$T/good.json"
expect_eq "$(post surgery-pc-3 "$T/bad.json")" 200 "a failing report from surgery-pc-3"
expect_eq "$(post carol-laptop "$T/good.json")" 200 "a clean report from carol-laptop"

# ---- mwgctl device list --json -------------------------------------------
j=$("$BIN/mwgctl" -s "$CTL" device list --json)
expect_eq "$(jq -c '.devices[] | select(.id=="surgery-pc-3") | .posture_failed' <<<"$j")" '["disk-encryption","firewall"]' "device list --json: what surgery-pc-3's report failed"
expect_eq "$(jq -c '.devices[] | select(.id=="carol-laptop") | .posture_failed' <<<"$j")" '[]' "device list --json: a clean report fails nothing"
expect_eq "$(jq -c '.devices[] | select(.id=="surgery-pc-3") | .posture_at > 0' <<<"$j")" true "device list --json: the report's time"
log "ok: mwgctl device list --json names the failed checks"

# ---- the devices page ----------------------------------------------------
totp_settle
expect_eq "$(console_login carol "$CAROL_PW" "$(console_code carol)")" 303 "carol logs in"
page=$(ccurl -b "$T/jar-carol" "$CONSOLE/devices")
expect_match "$page" '<th>posture failed</th>' "the devices page has the column"
row=$(grep -o '<tr><td>surgery-pc-3</td>.*' <<<"$page" | head -1)
expect_match "$row" '<td class="failed">disk-encryption, firewall</td>' "surgery-pc-3's row names what failed"
row=$(grep -o '<tr><td>carol-laptop</td>.*' <<<"$page" | head -1)
expect_match "$row" '<td class="failed">none</td>' "carol-laptop's row: nothing failed"

# A newer, clean report replaces what the page shows.
expect_eq "$(post surgery-pc-3 "$T/good.json")" 200 "a clean report from surgery-pc-3"
row=$(ccurl -b "$T/jar-carol" "$CONSOLE/devices" | grep -o '<tr><td>surgery-pc-3</td>.*' | head -1)
expect_match "$row" '<td class="failed">none</td>' "the newest report decides"
log "ok: the devices page shows what the newest report failed"
stop_console
log "PASS"
