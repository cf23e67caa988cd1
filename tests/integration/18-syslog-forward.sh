#!/usr/bin/env bash
# mwgd forwards its audit records to a real rsyslog over TCP (RFC 5424,
# octet counting). With the collector down, tunnels keep working and the
# local file keeps every record; when it returns, the forwarder catches up.
. "$(dirname "$0")/common.sh"
command -v rsyslogd >/dev/null || fail "rsyslogd not installed (deploy/deps.sh test)"
RS_PORT=$((BASE + 5))
mkdir -p "$T/rs"
cat >"$T/rsyslog.conf" <<CONF
global(workDirectory="$T/rs" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$RS_PORT")
template(name="msg" type="string" string="%msg%\\n")
if \$app-name == "mwgd" then action(type="omfile" file="$T/siem.jsonl" template="msg")
CONF
rs_start() {
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rs.pid" >>"$T/rsyslogd.log" 2>&1 &
	RS_PID=$!
	PIDS+=("$RS_PID")
	wait_port "$RS_PORT"
}
rs_start
make_ca
make_device laptop-1
write_policy
AUDIT_EXTRA="syslog tcp://127.0.0.1:$RS_PORT"
write_conf
start_backend http "$HTTP_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
for i in 1 2 3; do gw_curl laptop-1 -o /dev/null "http://emis.K84001:$HTTP_PORT/$i"; done
siem_has() {	# jq condition, n: within 5 s
	for _ in $(seq 100); do
		[ -f "$T/siem.jsonl" ] && [ "$(jq -c "select($1)" "$T/siem.jsonl" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "the collector has fewer than $2 records matching $1"
}
siem_has '.["event.action"]=="tunnel.close"' 3
log "ok: three tunnels reached the collector"
grep -qxF "$(grep '"event.action":"tunnel.open"' "$AUDIT" | head -1)" "$T/siem.jsonl" ||
	fail "the forwarded record differs from the local line"
log "ok: forwarded records are the local lines byte for byte"

kill -TERM "$RS_PID"; wait "$RS_PID" 2>/dev/null || true
for i in 4 5 6; do
	expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/$i")" 200 "tunnel $i while the collector is down"
done
rs_start
siem_has '.["event.action"]=="tunnel.close"' 6
local_seqs=$(jq -r 'select(.["event.action"]|startswith("tunnel.")) | .seq' "$AUDIT" | sort -n | uniq | tr '\n' ' ')
siem_seqs=$(jq -r 'select(.["event.action"]|startswith("tunnel.")) | .seq' "$T/siem.jsonl" | sort -n | uniq | tr '\n' ' ')
expect_eq "$siem_seqs" "$local_seqs" "after the outage the collector has every tunnel record"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .syslog_connected)" true "status shows the forwarder connected"
[ -s "$AUDIT.forward-state" ] || fail "the forwarder kept no position beside the audit file"
log "ok: the forwarder's position is kept in $AUDIT.forward-state"
grep -q "cannot save position" "$T/mwgd.log" && fail "the forwarder could not save its position"
stop_mwgd
