#!/usr/bin/env bash
# Connection limits: with room for 3 connections, 3 tunnels are held and a
# 4th client gets a clean 503 with a reason; when one closes, room returns.
. "$(dirname "$0")/common.sh"
setup_default 'limits { connections 3 }'
"$BIN/loadgen" idle --count 3 --seconds 30 --addr "$GW" --cert "$T/laptop-1.pem" \
	--key "$T/laptop-1.key" --ca "$T/ca/root.pem" --connect "echo.K84001:$ECHO_PORT" \
	>"$T/loadgen.out" 2>&1 &
proc_track loadgen $! 0 "$T/loadgen.out"
for _ in $(seq 100); do
	[ "$("$BIN/mwgctl" -s "$CTL" sessions --json | jq '.sessions | length')" -ge 3 ] && break
	sleep 0.1
done
body=$(printf 'GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n' | gw_raw - | tail -1)
expect_eq "$(jq -r .error <<<"$body")" busy "4th connection refused with 503 busy"
expect_match "$(jq -r .reason <<<"$body")" "(the gateway|this gateway worker) is at its connection limit; try again shortly" "refusal says why"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .refused)" 1 "the refusal is counted"
audit_wait '.["event.action"]=="connection.refuse" and .["http.response.status_code"]==503' 1
stop_proc loadgen
for _ in $(seq 50); do
	[ "$("$BIN/mwgctl" -s "$CTL" status --json | jq .connections)" = 0 ] && break
	sleep 0.1
done
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "served again once there is room"
stop_mwgd
