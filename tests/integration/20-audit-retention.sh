#!/usr/bin/env bash
# Retention per practice (each GP practice is its own controller): records
# of a practice past its retention are redacted in place — the chain still
# verifies and says how many were redacted — while other practices' lines
# stay byte for byte; the live file is never touched while mwgd holds it.
. "$(dirname "$0")/common.sh"
make_ca
make_device laptop-1
write_policy 'practice K84002 "Horsefair Surgery" {
    target emis 127.0.0.1:'"$HTTP_PORT"'
}'
AUDIT_EXTRA="retention 12 months
    retention K84001 6 months
    retention K84002 24 months"
write_conf
start_backend http "$HTTP_PORT"
start_mwgd
for i in 1 2; do
	gw_curl laptop-1 -o /dev/null "http://emis.K84001:$HTTP_PORT/a$i"
	gw_curl laptop-1 -o /dev/null "http://emis.K84002:$HTTP_PORT/b$i"
done
audit_wait '.["event.action"]=="tunnel.close"' 4
rc=0; err=$("$BIN/mwgctl" audit prune --before 2999-01-01 "$AUDIT" 2>&1) || rc=$?
expect_eq "$rc" 1 "prune refuses the live file"
expect_match "$err" "in use by mwgd" "and says why"
stop_mwgd

k1=$(audit_count '.["organization.id"]=="K84001"')
grep '"organization.id":"K84002"' "$AUDIT" >"$T/k84002.before"
later=$(date -u -d "+8 months" +%Y-%m-%d)
out=$("$BIN/mwgctl" audit prune --retention 12 --practice-retention K84001=6 \
	--practice-retention K84002=24 --now "$later" "$AUDIT")
log "$out"
expect_match "$out" "$k1 records of K84001 redacted" "K84001's records past 6 months are redacted"
expect_eq "$(audit_count '.["event.action"]=="audit.redacted" and .["organization.id"]=="K84001"')" "$k1" "each became a stub"
expect_eq "$(audit_select '.["event.action"]=="audit.redacted"' | jq -r 'keys_unsorted | join(",")' | sort -u)" \
	"seq,@timestamp,event.action,event.outcome,organization.id,audit.redacted_reason,prev,hash" "stubs keep no personal data"
grep '"organization.id":"K84002"' "$AUDIT" >"$T/k84002.after"
cmp -s "$T/k84002.before" "$T/k84002.after" || fail "K84002's records changed"
log "ok: K84002's records (24 months) are untouched, byte for byte"
out=$("$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT")
expect_match "$out" "^OK: .*; $k1 records redacted" "the trail still verifies and counts the redactions"
