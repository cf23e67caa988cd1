#!/usr/bin/env bash
# A tunnel with no bytes either way for the idle time is closed, with the
# reason audited; one that keeps talking is not.
. "$(dirname "$0")/common.sh"
setup_default 'timeouts { idle 2s }'
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
# mwgd counts idle time in whole seconds of the clock, so a byte late in
# a second may be followed by a close 1 s sooner than one early in it:
# each tick goes just after a second starts, to make the window exact.
next_second() {	# sleeps until 20 ms into the next second (or this one)
	local ms=$(( (1020 - 10#$(date +%N | cut -c1-3)) % 1000 ))
	sleep "$(awk "BEGIN { print $ms / 1000 }")"
}
next_second
for i in 1 2 3 4; do	# 3 s of traffic, one line every second
	[ "$i" -gt 1 ] && { sleep 0.5; next_second; }
	printf 'tick%d\n' "$i" >&"$tin"; read -r -t 5 r <&"$tout"
	expect_eq "$r" "tick$i" "busy tunnel stays open ($i s)"
done
# From the last byte, the client sees the close after the 2 s idle time.
last=$(date +%s%3N)
while read -r -t 10 _ <&"$tout"; do :; done
idle=$(( $(date +%s%3N) - last ))
[ "$idle" -ge 1900 ] && [ "$idle" -le 3500 ] || fail "closed ${idle} ms after the last byte, expected 2 s to 3 s"
log "ok: closed ${idle} ms after the last byte"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="idle-timeout"' 1
close=$(audit_select '.["event.action"]=="tunnel.close"')
ms=$(jq '.["event.duration_ms"]' <<<"$close")
[ "$ms" -ge 4900 ] && [ "$ms" -le 7000 ] || fail "tunnel lived ${ms} ms, expected 3 s of ticks + 2 s to 3 s idle"
log "ok: idle tunnel closed after ${ms} ms in all"
stop_mwgd
