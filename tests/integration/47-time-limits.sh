#!/usr/bin/env bash
# Time limits end live tunnels: a break-glass role's one-minute limit
# closes its tunnel (break-glass-expired) after the ALERT line and a
# severity-9 record at the open; a role's hours ending closes the tunnel
# it allowed (role-time-ended), to the second.
. "$(dirname "$0")/common.sh"
make_ca
make_device laptop-1
# The hours end at the next minute boundary at least 20 s away (UTC).
now=$(date -u +%s)
end=$(( (now / 60 + 1) * 60 ))
[ $((end - now)) -ge 20 ] || end=$((end + 60))
from=$(date -u -d "@$now" +%H:%M)
to=$(date -u -d "@$end" +%H:%M)
[ "$to" = 00:00 ] && to=24:00
cat >"$T/policy.conf" <<POLICY
timezone UTC
practice K84001 "Banbury Cross Health Centre" {
    target echo   127.0.0.1:$ECHO_PORT
    target sink   127.0.0.1:$SINK_PORT
}
member alice { practices K84001 }
role late {
    users     alice
    targets   echo
    hours     mon-sun $from-$to
}
role glass {
    users       alice
    targets     sink
    break-glass 1m
}
POLICY
write_conf
start_backend echo "$ECHO_PORT"
start_backend discard "$SINK_PORT"
start_mwgd
hold() { python3 "$(dirname "$0")/tunnel_hold.py" "$GW_PORT" "$T" laptop-1 "$@"; }
hold "sink.K84001:$SINK_PORT" "Mwg-Break-Glass: covering duty doctor, incident 4411" >"$T/glass.out" 2>&1 &
glass=$!
hold "echo.K84001:$ECHO_PORT" >"$T/late.out" 2>&1 &
late=$!
wait_for_line "$T/glass.out" "^HTTP/1.1 "
wait_for_line "$T/late.out" "^HTTP/1.1 "
expect_eq "$(head -1 "$T/glass.out")" "HTTP/1.1 200 Connection established" "break-glass tunnel opened with a reason"
expect_eq "$(head -1 "$T/late.out")" "HTTP/1.1 200 Connection established" "tunnel opened within the role's hours"
wait "$glass"
# Break-glass: the ALERT line as operations staff see it, the severity-9
# record with the reason, and the close at the one-minute limit.
expect_eq "$(grep -o 'ALERT: .*' "$T/mwgd.log")" \
	"ALERT: break-glass tunnel by alice on laptop-1 to sink.K84001 from 127.0.0.1 (role glass): covering duty doctor, incident 4411" \
	"one ALERT line, exactly"
rec=$(audit_select '.["event.action"]=="tunnel.open" and .["rule.id"]=="role glass"')
expect_eq "$(jq -c '[.["event.severity"], .["event.reason"], .["mwg.break_glass_reason"]]' <<<"$rec")" \
	'[9,"break-glass","covering duty doctor, incident 4411"]' "the open record: severity 9, break-glass, the reason"
expect_eq "$(audit_count '.["event.severity"]==9')" 1 "no other record has severity 9"
ms=$(sed -n 's/^closed after \([0-9]*\) ms at .*/\1/p' "$T/glass.out")
[ "$ms" -ge 58900 ] && [ "$ms" -le 61500 ] || fail "break-glass tunnel closed after $ms ms, expected 60 s"
log "ok: the break-glass tunnel closed after $ms ms"
audit_wait '.["event.action"]=="tunnel.close" and .["rule.id"]=="role glass" and .["event.reason"]=="break-glass-expired"' 1
# Hours: the tunnel closes when the role's hours end, to the second.
wait "$late" || fail "the tunnel outlived its role's hours ($to UTC): $(tail -1 "$T/late.out")"
at=$(sed -n 's/^closed after [0-9]* ms at \([0-9]*\)$/\1/p' "$T/late.out")
off=$(( at - end * 1000 ))
[ "$off" -ge -100 ] && [ "$off" -le 1500 ] || fail "the hours ended at $to but the tunnel closed $off ms later"
log "ok: the tunnel closed $off ms after its role's hours ended ($to UTC)"
audit_wait '.["event.action"]=="tunnel.close" and .["rule.id"]=="role late" and .["event.reason"]=="role-time-ended"' 1
expect_eq "$(audit_count '.["event.action"]=="tunnel.close"')" 2 "two closes, each with its own reason"
stop_mwgd
