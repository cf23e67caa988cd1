#!/usr/bin/env bash
# kill -9 during a flood of tunnels: afterwards the trail verifies, every
# tunnel a client saw opened has its tunnel.open record (it was durable
# before the first byte), and a torn last line is set aside and recorded.
. "$(dirname "$0")/common.sh"
setup_default
"$BIN/loadgen" handshake --seconds 4 --concurrency 16 --probe --addr "$GW" \
	--cert "$T/laptop-1.pem" --key "$T/laptop-1.key" --ca "$T/ca/root.pem" \
	--connect "echo.K84001:$ECHO_PORT" >"$T/flood.out" 2>&1 &
proc_track loadgen $! 0 "$T/flood.out"
sleep 2
kill -9 "$MWGD_PID"
proc_forget mwgd
MWGD_PID=
wait_proc loadgen
ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' "$T/flood.out")
[ -n "$ok" ] && [ "$ok" -gt 10 ] || fail "the flood opened too few tunnels ($ok)"
opened=$(jq -R 'fromjson? | select(.["event.action"]=="tunnel.open" and .["event.outcome"]=="success")' "$AUDIT" | jq -s length)
[ "$opened" -ge "$ok" ] || fail "$ok tunnels echoed a byte but only $opened tunnel.open records survived"
log "ok: $ok tunnels carried data; $opened tunnel.open records survived kill -9"

# Simulate a torn write, then restart: it is set aside and recorded.
printf '{"seq":999999,"@timestamp":"torn' >>"$AUDIT"
start_mwgd
audit_wait '.["event.action"]=="audit.recover"' 1
[ -s "$AUDIT.torn" ] || fail "the torn line was not kept in $AUDIT.torn"
grep -q '"seq":999999' "$AUDIT.torn" || fail "$AUDIT.torn does not hold the torn bytes"
log "ok: torn line kept in audit.jsonl.torn and recorded"
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "serving after recovery"
stop_mwgd
out=$("$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT")
expect_match "$out" "^OK:" "the recovered trail verifies end to end"

# A missing audit key beside a file with records is refused, not replaced.
mv "$T/state/audit.key" "$T/state/audit.key.away"
rc=0; err=$("$BIN/mwgd" -f "$T/mwgd.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "mwgd refuses to start without its audit key"
expect_match "$err" "audit key .* is missing but .* already has records" "and says why"
