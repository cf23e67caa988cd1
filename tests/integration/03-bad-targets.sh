#!/usr/bin/env bash
# Targets resolve only through policy: an unknown name, a raw address, a
# wrong port and a malformed authority are refused; a target whose system
# is down gets 502. Each is audited.
. "$(dirname "$0")/common.sh"
setup_default
status() {	# authority -> HTTP status of the CONNECT answer
	printf 'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' "$1" "$1" | gw_raw laptop-1 |
		head -1 | tr -d '\r' | cut -d' ' -f2
}
expect_eq "$(status "nope.K84001:443")" 404 "unknown target"
audit_wait '.["event.reason"]=="no target nope.K84001 is defined in policy"' 1
expect_eq "$(status "emis.K99999:$HTTP_PORT")" 404 "unknown practice"
expect_eq "$(status "127.0.0.1:$HTTP_PORT")" 400 "raw IP address"
audit_wait '.["event.reason"]=="CONNECT target must be NAME.PRACTICE:PORT, e.g. emis.K84001:443"' 1
expect_eq "$(status "emis.K84001:1")" 403 "wrong port"
audit_wait '.["event.reason"]=="target emis.K84001 is not served on port 1"' 1
expect_eq "$(status "emis.K84001")" 400 "no port"
expect_eq "$(status "emis.K84001:99999")" 400 "port out of range"
expect_eq "$(status "em\$is.K84001:$HTTP_PORT")" 400 "bad characters"
expect_eq "$(status "down.K84001:$DOWN_PORT")" 502 "target down"
answer=$(printf 'CONNECT down.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$DOWN_PORT" | gw_raw laptop-1 | tail -1)
expect_eq "$answer" '{"error":"target-unreachable","reason":"down.K84001 is unreachable"}' "the client is not told the internal address"
audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="failure" and .["event.reason"]=="cannot reach 127.0.0.1:'"$DOWN_PORT"': Connection refused"' 1
expect_eq "$(audit_count '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"')" 0 "no tunnel opened"
stop_mwgd
