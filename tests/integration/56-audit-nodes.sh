#!/usr/bin/env bash
# Audit across two gateway nodes: two mwgd on one machine (127.0.0.2 and
# 127.0.0.3, node-name gw-a and gw-b, each its own audit key and chain,
# gw-a rotating) serve CONNECTs in turn. Every record names its node;
# mwgctl audit verify given both nodes' files checks each chain on its own
# and names both; a record edited in one node's file fails that node's
# chain only; mwgctl audit export for one practice merges both nodes'
# records in time order, exactly, in JSON Lines and CSV.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/nodes-common.sh"

"$BIN/mwgctl" ca init --dir "$T/ca" --host 127.0.0.2 --host 127.0.0.3 >/dev/null
chmod 755 "$T/ca"
chgrp nogroup "$T/ca/server.key" 2>/dev/null || true
chmod 640 "$T/ca/server.key"
make_device laptop-1
write_policy 'practice K84002 "Horsefair Surgery" {
    target emis 127.0.0.1:'"$HTTP_PORT"'
}'
start_backend http "$HTTP_PORT"

via() {	# a|b curl-args...: gw_curl through that node
	local GW=${ADDR[$1]}:$GW_PORT
	shift
	gw_curl laptop-1 "$@"
}
files_of() {	# a|b: the node's files in chain order, rotated then live
	local f
	for f in "$T/log-$1"/audit.jsonl.2*; do
		if [ -e "$f" ]; then echo "$f"; fi
	done | sort
	echo "$T/log-$1/audit.jsonl"
}
node_wait() {	# a|b condition n: as audit_wait, over all the node's files
	local f
	for _ in $(seq 60); do
		mapfile -t f < <(files_of "$1")
		[ "$(jq -c "select($2)" "${f[@]}" | wc -l)" -ge "$3" ] && return 0
		sleep 0.05
	done
	fail "audit of node $1: fewer than $3 records match $2"
}

NODE_AUDIT="rotate-size 3000" node_conf a
node_conf b
# A node name that could not be a field's value is refused before start.
sed 's/^node-name gw-b$/node-name "gw b"/' "$T/mwgd-b.conf" >"$T/bad.conf"
rc=0; err=$("$BIN/mwgd" -n -f "$T/bad.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "mwgd -n refuses node-name \"gw b\""
expect_match "$err" "bad.conf:3:11: expected a node name \(1 to 64 letters, digits, '\.', '-' or '_', starting with a letter or digit\), got 'gw b'" \
	"... saying where and what a node name may be"
start_node a
start_node b

# Three K84001 tunnels and one K84002 on each node, in turn: a b a b ...
for i in 1 2 3; do
	via a -o /dev/null "http://emis.K84001:$HTTP_PORT/a$i"
	node_wait a '.["event.action"]=="tunnel.close"' "$i"
	via b -o /dev/null "http://emis.K84001:$HTTP_PORT/b$i"
	node_wait b '.["event.action"]=="tunnel.close"' "$i"
done
via a -o /dev/null "http://emis.K84002:$HTTP_PORT/a4"
via b -o /dev/null "http://emis.K84002:$HTTP_PORT/b4"
node_wait a '.["event.action"]=="tunnel.close"' 4
node_wait b '.["event.action"]=="tunnel.close"' 4
stop_proc mwgd-a
stop_proc mwgd-b
mapfile -t FA < <(files_of a)
mapfile -t FB < <(files_of b)
[ "${#FA[@]}" -ge 2 ] || fail "gw-a did not rotate (${#FA[@]} files)"
log "ok: gw-a wrote ${#FA[@]} files (rotated), gw-b ${#FB[@]}"

# Every record names its node, in each node's files.
for n in a b; do
	mapfile -t F < <(files_of $n)
	expect_eq "$(jq -r '.["observer.name"]' "${F[@]}" | sort | uniq -c | sed 's/^ *//')" \
		"$(cat "${F[@]}" | wc -l) gw-$n" "every record of node $n names gw-$n"
done

# verify: both nodes' files, mixed, with both keys: one chain each.
ra=$(cat "${FA[@]}" | wc -l)
rb=$(cat "${FB[@]}" | wc -l)
out=$("$BIN/mwgctl" audit verify --key "$T/state-a/audit.key.pub" --key "$T/state-b/audit.key.pub" \
	"${FB[@]}" "${FA[@]}")
log "$out"
ida=$(openssl pkey -pubin -in "$T/state-a/audit.key.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-16)
idb=$(openssl pkey -pubin -in "$T/state-b/audit.key.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-16)
[ "$ida" != "$idb" ] || fail "the two nodes share an audit key"
expect_eq "$out" \
"OK: $rb records of node gw-b (seq 1..$rb) in ${#FB[@]} files, $(cat "${FB[@]}" | grep -c '"audit.checkpoint"') checkpoints, sealed through seq $((rb - 1)) by key $idb; 0 unsealed at the end
OK: $ra records of node gw-a (seq 1..$ra) in ${#FA[@]} files, $(cat "${FA[@]}" | grep -c '"audit.checkpoint"') checkpoints, sealed through seq $((ra - 1)) by key $ida; 0 unsealed at the end
2 chains (one per node): 2 verify, 0 fail" "verify checks each node's chain with its own key and names both"

# The keys as a collection would keep them, beside each node's files.
mkdir -p "$T/ev/a" "$T/ev/b"
cp "${FA[@]}" "$T/state-a/audit.key.pub" "$T/ev/a/"
cp "${FB[@]}" "$T/state-b/audit.key.pub" "$T/ev/b/"
mapfile -t EA < <(ls -1 "$T/ev/a"/audit.jsonl.2* | sort; echo "$T/ev/a/audit.jsonl")
mapfile -t EB < <(echo "$T/ev/b/audit.jsonl")
out=$("$BIN/mwgctl" audit verify "${EA[@]}" "${EB[@]}")
expect_match "$out" "^OK: $ra records of node gw-a .*
OK: $rb records of node gw-b .*
2 chains \(one per node\): 2 verify, 0 fail$" "without --key, each chain uses the key beside its first file"

# A record edited in gw-b's file: gw-b fails, at that line; gw-a still verifies.
line=$(grep -n '"event.action":"tunnel.open"' "$T/ev/b/audit.jsonl" | sed -n 2p | cut -d: -f1)
seq=$(sed -n "${line}p" "$T/ev/b/audit.jsonl" | jq .seq)
sed -i "${line}s/\"emis.K84001\"/\"emis.K84002\"/" "$T/ev/b/audit.jsonl"
rc=0; out=$("$BIN/mwgctl" audit verify "${EA[@]}" "${EB[@]}") || rc=$?
log "$out"
expect_eq "$rc" 1 "an edited record on gw-b: verify fails"
expect_match "$out" "^OK: $ra records of node gw-a .*
FAIL: node gw-b: $T/ev/b/audit.jsonl:$line: seq $seq: record edited: hash does not match
2 chains \(one per node\): 1 verify, 1 fail$" "gw-b's chain fails at the edited record, gw-a's still verifies"

# The node name is hashed: moving a record to the other node is an edit.
cp "${FB[@]}" "$T/ev/b/"
sed -i '2s/"observer.name":"gw-b"/"observer.name":"gw-a"/' "$T/ev/b/audit.jsonl"
rc=0; out=$("$BIN/mwgctl" audit verify "${EA[@]}" "${EB[@]}") || rc=$?
expect_eq "$rc" 1 "a record renamed to the other node: verify fails"
expect_match "$out" "FAIL: node gw-b: $T/ev/b/audit.jsonl:2: seq 2: record edited: hash does not match" \
	"... at that record, in gw-b's chain"

# The exports are recorded through gw-b, started again: gw-a's files stay
# as they are (no rotation under the reader), gw-b only appends records of
# no practice.
start_node b -2

# Export K84001 from both nodes' files, given interleaved: one stream in
# time order (@timestamp, then node, then seq), exactly; recorded on gw-b.
"$BIN/mwgctl" audit export -s "$T/b.sock" --practice K84001 "${FB[@]}" "${FA[@]}" >"$T/k84001.jsonl"
want=$(jq -s -c 'map(select(.["organization.id"]=="K84001"))
	| sort_by(.["@timestamp"], .["observer.name"], .seq)[]
	| [.["observer.name"], .seq]' "${FA[@]}" "${FB[@]}")
got=$(jq -c '[.["observer.name"], .seq]' "$T/k84001.jsonl")
expect_eq "$(wc -l <"$T/k84001.jsonl")" 12 "the export holds 12 records: 3 tunnels opened and closed on each node"
expect_eq "$got" "$want" "the export is both nodes' K84001 records in time order"
expect_eq "$(jq -r 'select(.["event.action"]=="tunnel.open") | .["observer.name"]' "$T/k84001.jsonl" | paste -sd' ')" \
	"gw-a gw-b gw-a gw-b gw-a gw-b" "the tunnels come out in the order they were opened, a b a b a b"
changed=$(cat "${FA[@]}" "${FB[@]}" | grep -vxF -f - "$T/k84001.jsonl" || true)
[ -z "$changed" ] || fail "exported lines that are not the originals: $changed"
log "ok: every exported line is a line of a node's trail, byte for byte"
node_wait b '.["event.action"]=="audit.export" and .["audit.records"]==12' 1

# CSV: the same records and order, each row saying its node.
"$BIN/mwgctl" audit export -s "$T/b.sock" --practice k84001 --format csv "${FA[@]}" "${FB[@]}" >"$T/k84001.csv"
expect_eq "$(head -1 "$T/k84001.csv" | cut -d, -f1-5)" "seq,@timestamp,event.action,event.outcome,observer.name" "the CSV header names observer.name"
expect_eq "$(tail -n +2 "$T/k84001.csv" | cut -d, -f5,1 | tr -d '\r' | awk -F, '{print "[\"" $2 "\"," $1 "]"}')" \
	"$got" "the CSV rows are the same records in the same order, with their node"

# A person's records, both nodes: query shows the node of each.
q=$("$BIN/mwgctl" audit query -s "$T/b.sock" --user alice --event tunnel.open "${FA[@]}" "${FB[@]}")
expect_eq "$(awk '{print $2}' <<<"$q" | paste -sd' ')" "gw-a gw-b gw-a gw-b gw-a gw-b gw-a gw-b" \
	"audit query merges both nodes' tunnel.open in time order and names each one's node"
