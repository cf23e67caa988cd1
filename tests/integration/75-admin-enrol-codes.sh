#!/usr/bin/env bash
# mwgctl enrol-code list and withdraw against a real mwgd: the list says
# what became of each code (unused, used and by which device, withdrawn)
# and never shows a secret; a withdrawn code no longer enrols a device;
# a used or unknown code cannot be withdrawn; the withdrawal is audited
# with the admin's uid.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ctl() { "$BIN/mwgctl" -s "$CTL" "$@"; }
utc() { [ "$1" -gt 0 ] && date -u -d "@$1" '+%Y-%m-%d %H:%M UTC' || echo -; }
make_ca
write_policy
write_conf
start_mwgd

c1=$(ctl enrol-code create --user alice --practice K84001 --label "reception pc 2" --managed 2>/dev/null)
c2=$(ctl enrol-code create --user bob --practice k84001 --ttl 1h 2>/dev/null)
c3=$(ctl enrol-code create --user alice --practice K84001 --ttl 2h 2>/dev/null)
printf '%s\n' "$c1" "$c2" "$c3" >>"$COLLECT_SECRETS_FILE"
id1=${c1%%:*} id2=${c2%%:*} id3=${c3%%:*}
"$MWG" enrol --dir "$T/d1" --gateway "$GW" --ca "$T/ca/root.pem" --code "$c1" >/dev/null 2>&1 || fail "enrolment with $id1 failed"
dev=$(ctl device list --json | jq -r '.devices[0].id')

# ---- withdraw ------------------------------------------------------------
expect_eq "$(ctl enrol-code withdraw "$id2")" "withdrew enrolment code $id2 (bob, K84001)" "withdraw an unused code"
rc=0; out=$(ctl enrol-code withdraw "$id2" 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: enrol-code withdraw: enrolment code $id2 was already withdrawn" "a second withdrawal is refused"
rc=0; out=$(ctl enrol-code withdraw "$id1" 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: enrol-code withdraw: enrolment code $id1 was already used by $dev: revoke the device instead" \
    "a used code cannot be withdrawn, and the device it enrolled is named"
rc=0; out=$(ctl enrol-code withdraw nosuchcode 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: enrol-code withdraw: no enrolment code nosuchcode" "an unknown code"
rc=0; ctl enrol-code withdraw >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "withdraw without an ID is bad usage"
rc=0; ctl enrol-code withdraw 'BAD ID' >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "withdraw of a malformed ID is bad usage"

# The withdrawn code enrols nothing, and the refusal says why in the trail.
rc=0; "$MWG" enrol --dir "$T/d2" --gateway "$GW" --ca "$T/ca/root.pem" --code "$c2" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "enrolment with a withdrawn code fails"
[ ! -e "$T/d2/device.pem" ] || fail "a withdrawn code gave a certificate"
audit_wait '.["event.action"]=="enrol.request" and .["event.reason"]=="enrolment code refused: withdrawn"' 1
log "ok: a withdrawn code is refused at enrolment (audited: withdrawn)"

# ---- list ------------------------------------------------------------------
json=$(ctl enrol-code list --json)
expect_eq "$(jq -c '.codes[] | [.id, .user, .practice, .label, .managed, .state, .used_by, .created_by_uid]' <<<"$json" | sort)" \
    "$(printf '%s\n' "[\"$id1\",\"alice\",\"K84001\",\"reception pc 2\",true,\"used\",\"$dev\",$(id -u)]" \
    "[\"$id2\",\"bob\",\"K84001\",\"\",false,\"withdrawn\",\"\",$(id -u)]" \
    "[\"$id3\",\"alice\",\"K84001\",\"\",false,\"unused\",\"\",$(id -u)]" | sort)" \
    "list --json: each code's person, practice, label, state, device and creator"
expect_eq "$(jq -c '.codes | sort_by(.created_at, .id) | map(.id)' <<<"$json")" "$(jq -c '.codes | map(.id)' <<<"$json")" \
    "list: oldest first (by id within a second)"
code_of() { jq -c --arg id "$1" '.codes[] | select(.id == $id) | [.expires_at - .created_at, .used_at > 0, .withdrawn_at > 0]' <<<"$json"; }
expect_eq "$(code_of "$id1") $(code_of "$id2") $(code_of "$id3")" "[86400,true,false] [3600,false,true] [7200,false,false]" \
    "list --json: the lifetimes asked for, used and withdrawn times"
expect_eq "$(jq '[.codes[] | keys[]] | unique | join(" ")' -r <<<"$json")" \
    "created_at created_by_uid expires_at id label managed practice state used_at used_by user withdrawn_at" "list --json: these fields and no other"
for c in "$c1" "$c2" "$c3"; do
	[[ $json != *"${c#*:}"* ]] || fail "a secret is in the list"
done
# The text form: exact, line by line.
expected=$(jq -r '.codes[] | [.id, .user, .practice, (if .managed then "yes" else "no" end), .created_at, .created_by_uid, .expires_at, .state, (if .used_at > 0 then .used_at else .withdrawn_at end), (if .used_by == "" then "-" else .used_by end), (if .label == "" then "-" else .label end)] | @tsv' <<<"$json" |
	while IFS=$'\t' read -r id user pr man cr uid ex st when by label; do
		printf '%-10s  %-6s  %-8s  %-7s  %-20s  %-6s  %-20s  %-9s  %-20s  %-*s  %s\n' "$id" "$user" "$pr" "$man" \
		    "$(utc "$cr")" "$uid" "$(utc "$ex")" "$st" "$(utc "$when")" "${#dev}" "$by" "$label"
	done)
header=$(printf '%-10s  %-6s  %-8s  %-7s  %-20s  %-6s  %-20s  %-9s  %-20s  %-*s  %s' ID PERSON PRACTICE MANAGED CREATED BY-UID EXPIRES STATE WHEN "${#dev}" DEVICE LABEL)
expect_eq "$(ctl enrol-code list)" "$header
$expected" "enrol-code list: the table"
log "ok: enrol-code list shows state, device and creator, and no secret"

# ---- audit -----------------------------------------------------------------
expect_eq "$(audit_select '.["event.action"]=="enrol.code.withdraw"' | jq -c '[.["user.id"], .["enrol.code_id"], .["user.name"], .["organization.id"], .["event.outcome"]]')" \
    "[$(id -u),\"$id2\",\"bob\",\"K84001\",\"success\"]" "one enrol.code.withdraw record, with the admin's uid"
expect_eq "$(audit_count '.["event.action"]=="enrol.code.withdraw"')" 1 "refused withdrawals are not recorded as withdrawals"
grep -qF "${c2#*:}" "$AUDIT" "$T/mwgd.log" && fail "a secret reached the log or the trail"
stop_mwgd
log "ok"
