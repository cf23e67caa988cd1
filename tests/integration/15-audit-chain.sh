#!/usr/bin/env bash
# The audit trail is a hash chain with signed checkpoints: mwgctl audit
# verify passes on what mwgd wrote and names the first bad record after an
# edit, a deletion, a reordering or a cut; exports hold one practice's
# records only; every query and export is itself recorded with who ran it.
. "$(dirname "$0")/common.sh"
make_ca
make_device laptop-1
write_policy 'practice K84002 "Horsefair Surgery" {
    target emis 127.0.0.1:'"$HTTP_PORT"'
}'
AUDIT_EXTRA="checkpoint-records 5"
write_conf
start_backend http "$HTTP_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
for i in 1 2 3; do
	gw_curl laptop-1 -o /dev/null "http://emis.K84001:$HTTP_PORT/a$i"
	gw_curl laptop-1 -o /dev/null "http://emis.K84002:$HTTP_PORT/b$i"
done
gw_curl laptop-1 -o /dev/null "http://nope.K84002:$HTTP_PORT/" 2>/dev/null || true
audit_wait '.["event.action"]=="tunnel.close"' 6

# Exports: the practice's records only; recorded with the OS user.
"$BIN/mwgctl" -s "$CTL" audit export --practice K84002 "$AUDIT" >"$T/k84002.jsonl"
expect_eq "$(jq -r '.["organization.id"]' "$T/k84002.jsonl" | sort -u)" K84002 "export holds only K84002"
expect_eq "$(jq -s 'map(select(.["event.action"]=="tunnel.open")) | length' "$T/k84002.jsonl")" 3 "K84002's three tunnels exported"
expect_eq "$(jq -s 'map(select(.["event.action"]=="tunnel.deny")) | length' "$T/k84002.jsonl")" 1 "and its denial"
# Every exported line is a whole line of the trail, byte for byte, and
# every K84002 record of the trail is exported, in order.
changed=$(grep -vxF -f "$AUDIT" "$T/k84002.jsonl" || true)
[ -z "$changed" ] || fail "exported lines that are not the originals: $changed"
log "ok: all $(wc -l <"$T/k84002.jsonl") exported lines are byte-for-byte lines of the trail"
expect_eq "$(jq -c 'select(.["organization.id"]=="K84002") | .seq' "$AUDIT" | paste -sd,)" \
	"$(jq -c .seq "$T/k84002.jsonl" | paste -sd,)" "the export is exactly K84002's records, in order"
"$BIN/mwgctl" -s "$CTL" audit export --practice k84001 --format csv "$AUDIT" >"$T/k84001.csv"
expect_eq "$(head -1 "$T/k84001.csv" | cut -d, -f1-4)" "seq,@timestamp,event.action,event.outcome" "CSV header"
expect_eq "$(tail -n +2 "$T/k84001.csv" | grep -c ',K84001,')" "$(tail -n +2 "$T/k84001.csv" | wc -l)" "CSV rows are K84001's"
audit_wait '.["event.action"]=="audit.export" and .["user.id"]=='"$(id -u)"' and .["audit.filter"].practice=="K84002"' 1
q=$("$BIN/mwgctl" -s "$CTL" audit query --event tunnel.deny "$AUDIT")
expect_match "$q" "nope.K84002" "query finds the denial"
audit_wait '.["event.action"]=="audit.query"' 1
stop_mwgd

# The whole file verifies, with checkpoints.
out=$("$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT")
expect_match "$out" "^OK: [0-9]+ records" "verify passes"
[ "$(audit_count '.["event.action"]=="audit.checkpoint"')" -ge 3 ] || fail "fewer than 3 checkpoints"

tamper() {	# description sed-or-command... : verify must fail naming a seq
	cp "$AUDIT" "$T/t.jsonl"
	eval "$2"
	rc=0; out=$("$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$T/t.jsonl" 2>&1) || rc=$?
	expect_eq "$rc" 1 "$1: verify fails"
	expect_match "$out" "$3" "$1: names the first bad record"
}
tamper "edited byte count" "sed -i '0,/\"network.bytes_down\":[0-9]*/s//\"network.bytes_down\":1/' \"\$T/t.jsonl\"" \
	"FAIL: .*t.jsonl:[0-9]+: seq [0-9]+: .*edited"
tamper "deleted record" "sed -i '4d' \"\$T/t.jsonl\"" "FAIL: .*t.jsonl:4: seq [0-9]+"
tamper "reordered records" "sed -i '3{h;d};4{G}' \"\$T/t.jsonl\"" "FAIL: .*t.jsonl:3: seq [0-9]+"
tamper "truncated mid-line" "head -c -40 \"\$AUDIT\" >\"\$T/t.jsonl\"" "FAIL: .*torn"
tamper "inserted record" "sed -i '2p' \"\$T/t.jsonl\"" "FAIL: .*t.jsonl:3: seq [0-9]+"
"$BIN/mwgctl" ca init --dir "$T/x" --host 127.0.0.1 >/dev/null
rc=0; "$BIN/mwgctl" audit verify --key "$T/ca/root.pem" "$AUDIT" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "a key that is not the audit key is refused"
