#!/usr/bin/env bash
# A device with a valid certificate fetches a page from a practice system
# through a CONNECT tunnel; the audit trail has the open and the close.
. "$(dirname "$0")/common.sh"
setup_default

page=$(gw_curl laptop-1 "http://emis.K84001:$HTTP_PORT/appointments")
expect_match "$page" "Stand-in practice system" "page fetched through the tunnel"
expect_match "$page" "/appointments" "request path reached the practice system"

# Practice codes are matched case-insensitively.
code=$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.k84001:$HTTP_PORT/")
expect_eq "$code" 200 "lower-case practice code"

audit_wait '.["event.action"]=="tunnel.close"' 2
open=$(audit_select '.["event.action"]=="tunnel.open"' | head -1)
expect_eq "$(jq -r '.["device.id"]' <<<"$open")" laptop-1 "tunnel.open names the device"
expect_eq "$(jq -r '.["organization.id"]' <<<"$open")" K84001 "tunnel.open names the practice"
expect_eq "$(jq -r '.["destination.address"]' <<<"$open")" emis.K84001 "tunnel.open names the target"
expect_eq "$(jq -r '.["destination.socket"]' <<<"$open")" "127.0.0.1:$HTTP_PORT" "tunnel.open names the address"
expect_eq "$(jq -r '.["source.ip"]' <<<"$open")" 127.0.0.1 "tunnel.open names the source"
expect_eq "$(jq -r '.["rule.id"]' <<<"$open")" "role staff" "tunnel.open names the rule"
close=$(audit_select '.["event.action"]=="tunnel.close"' | head -1)
expect_eq "$(jq -r '.["event.reason"]' <<<"$close")" completed "tunnel.close reason"
bytes_down=$(jq -r '.["network.bytes_down"]' <<<"$close")
[ "$bytes_down" -gt 200 ] || fail "bytes_down $bytes_down too small"
expect_eq "$(jq -r 'has("event.duration_ms")' <<<"$close")" true "tunnel.close has a duration"
# Sequence numbers run 1..N without gaps.
expect_eq "$(jq -s '[.[].seq] == [range(1; length+1)]' "$AUDIT")" true "audit sequence numbers"
stop_mwgd
expect_eq "$(audit_count '.["event.action"]=="gateway.stop"')" 1 "gateway.stop audited"
