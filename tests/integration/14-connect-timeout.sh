#!/usr/bin/env bash
# A practice system that never answers the TCP handshake: the CONNECT gets
# 504 after the connect timeout, the client is told only which target, and
# the audit record has the address.
. "$(dirname "$0")/common.sh"
setup_default 'timeouts { connect 1s }'
STALL_PORT=$SINK_PORT
"$BIN/mwg-backend" --listen "127.0.0.1:$STALL_PORT" --mode stall --pidfile "$T/stall.pid" >"$T/stall.log" 2>&1 &
proc_track backend-stall $! 0 "$T/stall.log"
# Not wait_port: a probe would take the one place in the queue.
for _ in $(seq 100); do [ -s "$T/stall.pid" ] && break; sleep 0.05; done
[ -s "$T/stall.pid" ] || fail "the stalled backend did not start"
# Fill the stalled server's one-place queue so that further SYNs are dropped.
exec {q1}<>"/dev/tcp/127.0.0.1/$STALL_PORT"
start=$(date +%s%N)
answer=$(printf 'CONNECT sink.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$STALL_PORT" | gw_raw laptop-1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "$(head -1 <<<"$answer" | tr -d '\r')" "HTTP/1.1 504 Gateway Timeout" "504 when the target does not answer"
expect_eq "$(tail -1 <<<"$answer")" '{"error":"target-timeout","reason":"sink.K84001 did not answer in time"}' "the client hears which target"
[ "$ms" -ge 950 ] && [ "$ms" -le 1800 ] || fail "answered after ${ms} ms, expected 1 s (plus a TLS handshake)"
log "ok: answered after ${ms} ms"
audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="failure" and .["event.reason"]=="127.0.0.1:'"$STALL_PORT"' did not answer within the connect timeout"' 1
exec {q1}>&-
stop_mwgd
