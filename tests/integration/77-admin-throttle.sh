#!/usr/bin/env bash
# mwgctl throttle list and clear against a real mwgd: failed logins and a
# failed enrolment leave throttle rows per person, address and code; the
# list shows failures, window and when each may try again; clear lets a
# person or an address in again at once; each clear audited with the
# admin's uid and the failures forgotten.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-0b7e44
ctl() { "$BIN/mwgctl" -s "$CTL" "$@"; }
utc() { [ "$1" -gt 0 ] && date -u -d "@$1" '+%Y-%m-%d %H:%M UTC' || echo -; }
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy
write_conf
start_mwgd
enrol_totp alice
SRC=127.0.0.21

expect_eq "$(ctl throttle list --json | jq -c .throttle)" "[]" "no throttle rows at first"
# Until the list says alice may try again (the waits after failure 3 and 4).
wait_free() {
	for _ in $(seq 100); do
		[ "$(ctl throttle list --json | jq '[.throttle[] | select(.waiting)] | length')" = 0 ] && return 0
		sleep 0.1
	done
	fail "the throttle wait never ended"
}
# Five wrong passwords from one address, each when allowed: the fifth
# makes both keys wait 8 s.
for _ in 1 2 3 4 5; do
	wait_free
	r=$(gw_login laptop-1 alice wrong-password 000000 "$SRC")
	expect_eq "$(tail -1 <<<"$r")" 401 "a wrong password is refused"
done
r=$(gw_login laptop-1 alice "$ALICE_PW" 000000 "$SRC")
expect_eq "$(tail -1 <<<"$r")" 429 "the sixth attempt at once is throttled"
# A wrong enrolment code: its id and the address are throttled too.
rc=0; "$BIN/mwg" enrol --dir "$T/d1" --gateway "$GW" --ca "$T/ca/root.pem" --code abcdefghij:not-the-secret >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "enrolment with an unknown code fails"

json=$(ctl throttle list --json)
now=$(jq .now <<<"$json")
expect_eq "$(jq -c '[.throttle[] | [.key, .failures, .window_end - .window_start]]' <<<"$json")" \
    '[["code:abcdefghij",1,300],["ip:127.0.0.1",1,300],["ip:127.0.0.21",5,300],["user:alice",5,300]]' \
    "list --json: every key, by key, with its failures and 5-minute window"
expect_eq "$(jq -c '[.throttle[] | [.key, .next_allowed_at - .window_start >= 8, .waiting]] | .[2:]' <<<"$json")" \
    '[["ip:127.0.0.21",true,true],["user:alice",true,true]]' "list --json: after five failures, an 8 s wait"
expect_eq "$(jq -c '[.throttle[2,3] | .next_allowed_at - $now] | map(. > 0 and . <= 8)' --argjson now "$now" <<<"$json")" '[true,true]' \
    "list --json: the wait ends within 8 s of mwgd's now"
expect_eq "$(jq -c '[.throttle[0,1] | .waiting]' <<<"$json")" '[false,false]' "one failure costs no wait"
expect_eq "$(jq -r '[.throttle[] | keys[]] | unique | join(" ")' <<<"$json")" \
    "failures key next_allowed_at waiting window_end window_start" "list --json: these fields"
expect_eq "$(jq -c "[.left_off, (keys | join(\" \"))]" <<<"$json")" "[0,\"left_off now ok throttle\"]" "list --json: the answer says no key was left off"
expected=$(jq -r '.throttle[] | [.key, .failures, .window_start, .next_allowed_at] | @tsv' <<<"$json" |
	while IFS=$'\t' read -r k f s n; do
		w=-; [ "$n" -gt "$now" ] && w="$((n - now))s"
		printf '%-15s  %8s  %-20s  %-20s  %s\n' "$k" "$f" "$(utc "$s")" "$(utc "$n")" "$w"
	done)
# The text form computes waits from mwgd's clock: compare lines but the waits.
strip() { sed -E 's/[0-9]+s$/Ns/'; }
expect_eq "$(ctl throttle list | strip)" "$(printf '%-15s  %8s  %-20s  %-20s  %s' KEY FAILURES WINDOW-START NEXT-ALLOWED WAIT)
$(strip <<<"$expected")" "throttle list: the table"
log "ok: throttle list shows keys, failures, window and next try"

# ---- clear -----------------------------------------------------------------
expect_eq "$(ctl throttle clear alice)" "cleared user:alice (5 failures)" "clear a person by name"
r=$(gw_login laptop-1 alice "$ALICE_PW" 000000 "$SRC")
expect_eq "$(tail -1 <<<"$r")" 429 "the address still waits"
expect_eq "$(ctl throttle clear "$SRC")" "cleared ip:$SRC (5 failures)" "clear an address"
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)" "$SRC")
expect_eq "$(tail -1 <<<"$r")" 200 "alice logs in at once from that address"
expect_eq "$(ctl throttle clear code:abcdefghij --json | jq -c .)" '{"ok":true,"key":"code:abcdefghij","failures":1}' "clear a key as listed, --json"
expect_eq "$(ctl throttle clear ip:127.0.0.1)" "cleared ip:127.0.0.1 (1 failure)" "clear an ip: key"
expect_eq "$(ctl throttle list --json | jq -c .throttle)" "[]" "nothing is throttled now"
rc=0; out=$(ctl throttle clear alice 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: throttle clear: no failures are recorded for user:alice" "nothing to clear"
rc=0; out=$(ctl throttle clear 0:0::1 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: throttle clear: no failures are recorded for ip:::1" "an IPv6 address is taken in mwgd's spelling"
rc=0; out=$(ctl throttle clear 'Bad!' 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: throttle clear: 'Bad!' is neither a user name, an address nor a throttle key" "neither name nor address"
rc=0; out=$(ctl throttle clear ip:alice 2>&1) || rc=$?
expect_eq "$rc:$out" "1:mwgctl: throttle clear: 'ip:alice' is neither a user name, an address nor a throttle key" "ip: takes an address only"
rc=0; ctl throttle clear >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "clear without an argument is bad usage"
rc=0; ctl throttle clear 'two words' >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "clear with a space is bad usage"

expect_eq "$(audit_select '.["event.action"]=="throttle.clear"' | jq -c '[.["user.id"], .["throttle.key"], .["throttle.failures"]]' | tr '\n' ' ')" \
    "[$(id -u),\"user:alice\",5] [$(id -u),\"ip:$SRC\",5] [$(id -u),\"code:abcdefghij\",1] [$(id -u),\"ip:127.0.0.1\",1] " \
    "four throttle.clear records, with the admin's uid and the failures forgotten"

# Rows anyone can add (ip: keys, one per failing address) are bounded in
# one answer: 5000 shown, the rest counted.
stop_mwgd
sqlite3 "$T/state/state.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5003)
    INSERT INTO throttle SELECT printf('ip:10.%d.%d.%d', i / 65536, (i / 256) % 256, i % 256), 1, $now, $now FROM n"
start_mwgd
expect_eq "$(ctl throttle list --json | jq -c '[(.throttle | length), .left_off, .throttle[0].key, .throttle[-1].key]')" \
    '[5000,3,"ip:10.0.0.1","ip:10.0.9.96"]' "list: 5000 keys shown, by key (bytewise), 3 counted"
ctl throttle list >"$T/list.out" 2>"$T/list.err"
expect_eq "$(wc -l <"$T/list.out") $(cat "$T/list.err")" "5001 mwgctl: throttle list: 3 more keys not shown (throttle clear takes any key)" \
    "the text list says how many it left off"
stop_mwgd
log "ok"
