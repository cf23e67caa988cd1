#!/usr/bin/env bash
# A tunnel with no bytes either way for the idle time is closed, with the
# reason audited; one that keeps talking is not.
. "$(dirname "$0")/common.sh"
setup_default 'timeouts { idle 2s }'
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
for i in 1 2 3 4; do	# 4 s of traffic, one line every second
	printf 'tick%d\n' "$i" >&"$tin"; read -r -t 5 r <&"$tout"
	expect_eq "$r" "tick$i" "busy tunnel stays open ($i s)"
	sleep 1
done
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="idle-timeout"' 1
close=$(audit_select '.["event.action"]=="tunnel.close"')
ms=$(jq '.["event.duration_ms"]' <<<"$close")
[ "$ms" -ge 5000 ] && [ "$ms" -le 9000 ] || fail "closed after ${ms} ms, expected about 4 s + 2 s idle"
log "ok: idle tunnel closed after ${ms} ms"
stop_mwgd
