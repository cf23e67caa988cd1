#!/usr/bin/env bash
# mwgctl audit prune on a rotated file while mwgd runs: the prune is
# recorded in the live trail (audit.prune, who ran it, the filter and how
# many records it touched); with mwgd down it still prunes and warns that
# nothing recorded it.
. "$(dirname "$0")/common.sh"
make_ca
make_device laptop-1
write_policy 'practice K84002 "Horsefair Surgery" {
    target emis 127.0.0.1:'"$HTTP_PORT"'
}'
write_conf
start_backend http "$HTTP_PORT"
start_mwgd
for i in 1 2; do
	gw_curl laptop-1 -o /dev/null "http://emis.K84001:$HTTP_PORT/a$i"
	gw_curl laptop-1 -o /dev/null "http://emis.K84002:$HTTP_PORT/b$i"
done
audit_wait '.["event.action"]=="tunnel.close"' 4
stop_mwgd
# Yesterday's file, as rotation would have left it beside the live one.
cp "$AUDIT" "$T/log/audit.old.jsonl"
cp "$AUDIT" "$T/log/audit.old2.jsonl"
k1=$(jq -s 'map(select(.["organization.id"]=="K84001")) | length' "$T/log/audit.old.jsonl")
start_mwgd
tomorrow=$(date -u -d tomorrow +%Y-%m-%d)
rc=0; out=$("$BIN/mwgctl" -s "$CTL" audit prune --practice K84001 --before "$tomorrow" \
	"$T/log/audit.old.jsonl" 2>"$T/prune.err") || rc=$?
expect_eq "$rc" 0 "prune of a rotated file while mwgd runs"
expect_eq "$out" "$T/log/audit.old.jsonl: $k1 records of K84001 redacted" "it redacts K84001's records"
expect_eq "$(cat "$T/prune.err")" "" "and warns of nothing"
audit_wait '.["event.action"]=="audit.prune"' 1
rec=$(audit_select '.["event.action"]=="audit.prune"')
expect_eq "$(jq -c '[.["event.outcome"], .["user.id"], .["audit.filter"], .["audit.records"]]' <<<"$rec")" \
	"[\"success\",$(id -u),{\"practice\":\"K84001\"},$k1]" "audit.prune recorded: who, the filter, how many"
out=$("$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$T/log/audit.old.jsonl")
expect_match "$out" "^OK: .*; $k1 records redacted" "the pruned file still verifies"
stop_mwgd
# mwgd down: the prune still runs, and says it went unrecorded.
rc=0; out=$("$BIN/mwgctl" -s "$CTL" audit prune --practice K84001 --before "$tomorrow" \
	"$T/log/audit.old2.jsonl" 2>"$T/prune2.err") || rc=$?
expect_eq "$rc" 0 "prune with mwgd down"
expect_match "$(cat "$T/prune2.err")" "^mwgctl: audit prune: warning: not recorded in the audit trail \(mwgd at $CTL: " "and warns it was not recorded"
expect_eq "$(audit_count '.["event.action"]=="audit.prune"')" 1 "no second audit.prune record"
