#!/usr/bin/env bash
# Live reload: a broken policy is refused with file:line:column and the old
# one keeps serving (a tunnel open across it keeps flowing); a valid one is
# swapped in and audited with both hashes; SIGHUP does the same.
. "$(dirname "$0")/common.sh"
setup_default
old_hash=$("$BIN/mwgctl" -s "$CTL" status --json | jq -r .policy_sha256)

# A tunnel that stays open across the reloads.
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
ping() { printf '%s\n' "$1" >&"$tin"; read -r -t 5 reply <&"$tout"; expect_eq "$reply" "$1" "tunnel echoes '$1'"; }
ping before

cp "$T/policy.conf" "$T/policy.good"
printf 'practice K84002 {\n    target emis 10.0.0.1\n}\n' >>"$T/policy.conf"
bad_line=$(grep -n 'target emis 10.0.0.1$' "$T/policy.conf" | cut -d: -f1)
rc=0; err=$("$BIN/mwgctl" -s "$CTL" reload 2>&1) || rc=$?
expect_eq "$rc" 1 "broken reload exits 1"
expect_eq "$err" "mwgctl: reload: $T/policy.conf:$bad_line:17: expected an address IP:PORT or [IPv6]:PORT, got '10.0.0.1'" "broken reload names file:line:col"
audit_wait '.["event.action"]=="policy.reload" and .["event.outcome"]=="failure"' 1
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq -r .policy_sha256)" "$old_hash" "old policy still in force"
ping after-broken
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "new tunnels still served"

# Bytes that are not UTF-8 in a broken file: the answer and the audit
# record quote them safely, and mwgd lives on.
cp "$T/policy.good" "$T/policy.conf"
printf 'practice K84003 {\n    target x\xe9y 127.0.0.1:1\n}\n' >>"$T/policy.conf"
rc=0; err=$("$BIN/mwgctl" -s "$CTL" reload 2>&1) || rc=$?
expect_eq "$rc" 1 "reload of a file with a non-UTF-8 name exits 1"
expect_match "$err" "expected a target name of a-z, 0-9 and '-', got 'x\?y'" "the bad byte is quoted as ?"
audit_wait '.["event.action"]=="policy.reload" and .["event.outcome"]=="failure" and (.["event.reason"] | test("x.y"))' 1
ping after-bad-bytes

# A valid change: a new practice and target appear at once.
cp "$T/policy.good" "$T/policy.conf"
printf 'practice K84002 "Second" {\n    target emis 127.0.0.1:%s\n}\n' "$HTTP_PORT" >>"$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
new_hash=$("$BIN/mwgctl" policy check "$T/policy.conf" | sed 's/.*sha256 //')
[ "$new_hash" != "$old_hash" ] || fail "policy hash did not change"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq -r .policy_sha256)" "$new_hash" "new policy in force"
rec=$(audit_select '.["event.action"]=="policy.reload" and .["event.outcome"]=="success"' | tail -1)
expect_eq "$(jq -r '.["policy.old_sha256"]' <<<"$rec")" "$old_hash" "reload audits the old hash"
expect_eq "$(jq -r '.["policy.new_sha256"]' <<<"$rec")" "$new_hash" "reload audits the new hash"
expect_eq "$(jq -r '.["user.id"]' <<<"$rec")" "$(id -u)" "reload audits who asked"
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84002:$HTTP_PORT/")" 200 "new target reachable"
ping after-reload

# SIGHUP with a broken mwgd.conf: refused, logged, old config stays.
cp "$T/mwgd.conf" "$T/mwgd.good"
echo 'workers zero' >>"$T/mwgd.conf"
kill -HUP "$MWGD_PID"
audit_wait '.["event.action"]=="policy.reload" and .["event.outcome"]=="failure" and .["user.id"]==-1' 1
grep -q "reload refused, old configuration kept" "$T/mwgd.log" || fail "no log line for refused SIGHUP reload"
log "ok: SIGHUP reload refused and logged"
cp "$T/mwgd.good" "$T/mwgd.conf"
kill -HUP "$MWGD_PID"
audit_wait '.["event.action"]=="policy.reload" and .["event.outcome"]=="success" and .["user.id"]==-1' 1
ping after-sighup
exec {tin}>&-
stop_mwgd
