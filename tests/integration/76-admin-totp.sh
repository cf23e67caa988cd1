#!/usr/bin/env bash
# mwgctl totp list and remove against a real mwgd: who has a secret, since
# when, the last code accepted, failures in a row, disabled or not, never
# the secret; remove takes a secret away, so the person's next login is
# refused as "no TOTP enrolled"; each removal audited with the admin's uid.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-5c01d2
BOB_PW=bob-Pw-9ae733
ctl() { "$BIN/mwgctl" -s "$CTL" "$@"; }
utc() { [ "$1" -gt 0 ] && date -u -d "@$1" '+%Y-%m-%d %H:%M UTC' || echo -; }
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians" "bob:$BOB_PW:gp-clinicians" "carol:x-Pw-1:gp-clinicians"
enrol_device laptop-1 alice
write_policy
write_conf
start_mwgd
t0=$(date +%s)
enrol_totp bob
BOB_TOTP=$TOTP_B32
enrol_totp alice
t1=$(date +%s)

json=$(ctl totp list --json)
expect_eq "$(jq -c '[.totp[] | [.user, .failures, .disabled, .disabled_at, .last_used_at, .digits, .period]]' <<<"$json")" \
    '[["alice",0,false,0,0,6,30],["bob",0,false,0,0,6,30]]' "list --json: both people by name, fresh"
for u in alice bob; do
	e=$(jq --arg u "$u" '.totp[] | select(.user == $u) | .enrolled_at' <<<"$json")
	[ "$e" -ge "$t0" ] && [ "$e" -le "$t1" ] || fail "$u enrolled_at $e not in [$t0, $t1]"
done
expect_eq "$(jq -r '[.totp[] | keys[]] | unique | join(" ")' <<<"$json")" \
    "digits disabled disabled_at enrolled_at failures last_used_at period user" "list --json: these fields, no secret"
[[ $json != *"$TOTP_B32"* && $json != *"$BOB_TOTP"* ]] || fail "a secret is in the list"
log "ok: totp list names who has a secret and when it was set"

# A wrong code with the right password counts; a good one resets and is
# the last code accepted.
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" 000000)
expect_eq "$(tail -1 <<<"$r")" 401 "a wrong code is refused"
expect_eq "$(ctl totp list --json | jq -c '[.totp[] | [.user, .failures]]')" '[["alice",1],["bob",0]]' "one failure counted for alice"
totp_settle
step=$(( $(date +%s) / 30 ))
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
expect_eq "$(tail -1 <<<"$r")" 200 "the right code logs alice in"
json=$(ctl totp list --json)
expect_eq "$(jq -c '.totp[0] | [.user, .failures, .last_used_at]' <<<"$json")" "[\"alice\",0,$((step * 30))]" \
    "a good code resets the failures and is the last code accepted"

# Disabled after 100 wrong codes: set in the store while mwgd is stopped.
stop_mwgd
sqlite3 "$T/state/state.db" "UPDATE totp SET failures = 100, disabled_at = $t1 WHERE user = 'bob'"
start_mwgd
json=$(ctl totp list --json)
expect_eq "$(jq -c '.totp[1] | [.user, .failures, .disabled, .disabled_at]' <<<"$json")" "[\"bob\",100,true,$t1]" "a disabled secret is shown so"
expected=$(jq -r '.totp[] | [.user, .enrolled_at, .last_used_at, .failures, (if .disabled then "disabled" else "enabled" end), .disabled_at] | @tsv' <<<"$json" |
	while IFS=$'\t' read -r u e l f s d; do
		printf '%-6s  %-20s  %-20s  %8s  %-8s  %s\n' "$u" "$(utc "$e")" "$(utc "$l")" "$f" "$s" "$(utc "$d")"
	done)
expect_eq "$(ctl totp list)" "$(printf '%-6s  %-20s  %-20s  %8s  %-8s  %s' PERSON ENROLLED LAST-CODE FAILURES STATE DISABLED)
$expected" "totp list: the table"

# ---- remove -----------------------------------------------------------------
expect_eq "$(ctl totp remove bob)" "removed the TOTP secret of bob" "remove bob's secret"
rc=0; out=$(ctl totp remove bob 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: totp remove: bob has no TOTP secret" "a second removal is refused"
rc=0; out=$(ctl totp remove carol 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: totp remove: carol has no TOTP secret" "someone who never had one"
rc=0; ctl totp remove 'Not A Name' >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "a malformed user name is bad usage"
rc=0; ctl totp remove >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "no user is bad usage"
expect_eq "$(ctl totp remove alice --json | jq -c .)" '{"ok":true,"user":"alice"}' "remove --json"
expect_eq "$(ctl totp list --json | jq -c .totp)" "[]" "nobody has a secret now"
expect_eq "$(ctl totp list)" "$(printf '%-6s  %-20s  %-20s  %8s  %-8s  %s' PERSON ENROLLED LAST-CODE FAILURES STATE DISABLED)" "an empty table is its header"

# Alice's next login is refused for want of a secret, whatever code she sends.
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
expect_eq "$(tail -1 <<<"$r")" 401 "login after the removal is refused"
audit_wait '.["event.action"]=="auth.login" and .["event.outcome"]=="failure" and (.["event.reason"] | test("no TOTP enrolled"))' 1
log "ok: the refusal is audited as no TOTP enrolled"

expect_eq "$(audit_select '.["event.action"]=="totp.remove"' | jq -c '[.["user.id"], .["user.name"], .["event.outcome"]]' | tr '\n' ' ')" \
    "[$(id -u),\"bob\",\"success\"] [$(id -u),\"alice\",\"success\"] " "two totp.remove records, with the admin's uid"
stop_mwgd
log "ok"
