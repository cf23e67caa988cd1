#!/usr/bin/env bash
# 200 tunnels open at once, each proven with an echoed byte; the control
# socket lists all 200; all are closed and audited when the client goes.
. "$(dirname "$0")/common.sh"
setup_default
n=200
"$BIN/loadgen" idle --count "$n" --seconds 30 --addr "$GW" --cert "$T/laptop-1.pem" \
	--key "$T/laptop-1.key" --ca "$T/ca/root.pem" --connect "echo.K84001:$ECHO_PORT" \
	>"$T/loadgen.out" 2>&1 &
proc_track loadgen $! 0 "$T/loadgen.out"
for _ in $(seq 200); do
	open=$("$BIN/mwgctl" -s "$CTL" sessions --json | jq '.sessions | length')
	[ "$open" -ge "$n" ] && break
	sleep 0.1
done
expect_eq "$open" "$n" "sessions lists $n open tunnels"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .connections)" "$n" "status counts $n connections"
stop_proc loadgen
audit_wait '.["event.action"]=="tunnel.close"' "$n"
expect_eq "$(audit_count '.["event.action"]=="tunnel.open"')" "$n" "$n tunnel.open records"
for _ in $(seq 50); do
	[ "$("$BIN/mwgctl" -s "$CTL" status --json | jq .connections)" = 0 ] && break
	sleep 0.1
done
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .connections)" 0 "all connections released"
stop_mwgd
