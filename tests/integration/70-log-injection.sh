#!/usr/bin/env bash
# Logs cannot be forged: every client string that can reach mwgd's log
# (names in CONNECT, user names at login, posture strings, EST code ids,
# SSH user names and direct-tcpip targets) is sent with CR, LF, ESC and
# other control bytes; mwgd.log must still hold one well-formed line per
# event, no raw control byte, and the payload only in escaped form.
. "$(dirname "$0")/common.sh"
SSH_PORT=$((BASE + 9))
FORGED='mwgd[1] FORGED allow alice'
make_ca
ALICE_PW=alice-Pw-70aa01
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
make_device session-1 --user alice
cp "$T/session-1.pem" "$T/sess.pem"; cp "$T/session-1.key" "$T/sess.key"
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
# A live session for laptop-1: SSH then asks no second factor, and the
# hostile direct-tcpip targets reach the policy (and its log line).
enrol_totp alice
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
expect_eq "$(tail -1 <<<"$r")" 200 "alice logs in on laptop-1"
ssh_opts=(-F /dev/null -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o PreferredAuthentications=publickey
	-i "$T/laptop-1.key" -o IdentitiesOnly=yes)

hostile=(
	$'emis\r\n'"$FORGED"
	$'\e[2J\e]0;pwned\a'"$FORGED"
	$'a\x7f\x08\x0b\x0c'"$FORGED"
	$'\xc2\x9b31m'"$FORGED"
)
for h in "${hostile[@]}"; do
	# CONNECT: the authority as sent (the parser refuses most; what it
	# takes reaches the log only escaped).
	printf 'CONNECT %s.K84001:443 HTTP/1.1\r\nHost: x\r\n\r\n' "$h" | gw_raw session-1 >/dev/null || true
	printf 'CONNECT echo.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$h" | gw_raw session-1 >/dev/null || true
	# Login: a JSON string may carry any byte.
	jq -nc --arg u "$h" '{user:$u,password:"x",otp:"123456"}' |
		curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
			-H 'Content-Type: application/json' --data-binary @- -o /dev/null "https://$GW/v1/login" || true
	# Posture: strings inside the report.
	jq -nc --arg v "$h" '{schema:1, os:{id:$v, version:$v, kernel:$v}}' |
		curl -sS --max-time 10 --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
			-H 'Content-Type: application/json' --data-binary @- -o /dev/null "https://$GW/v1/posture" || true
	# EST: the enrolment code id inside HTTP Basic.
	curl -sS --max-time 10 --cacert "$T/ca/root.pem" -u "$h:secret" -H 'Content-Type: application/pkcs10' \
		--data-binary 'AAAA' -o /dev/null "https://$GW/.well-known/est/simpleenroll" || true
	# SSH: the user name (sent before any key is accepted), and as alice
	# with her live session, direct-tcpip targets.
	timeout 10 ssh "${ssh_opts[@]}" -l "$h" -N 127.0.0.1 </dev/null >/dev/null 2>&1 || true
	timeout 10 ssh "${ssh_opts[@]}" -l alice -W "$h:22" 127.0.0.1 </dev/null >/dev/null 2>&1 || true
	timeout 10 ssh "${ssh_opts[@]}" -l alice -W "$h.K84001:22" 127.0.0.1 </dev/null >/dev/null 2>&1 || true
done
stop_mwgd

log_file=$T/mwgd.log
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$log_file"; then
	fail "a raw control byte in mwgd.log: $(LC_ALL=C grep -n $'[\x01-\x08\x0b-\x1f\x7f]' "$log_file" | head -2 | cat -v)"
fi
log "ok: no raw control byte in mwgd.log"
LC_ALL=C grep -q $'[\x80-\xff]' "$log_file" && fail "a raw non-ASCII byte in mwgd.log"
log "ok: no raw non-ASCII byte"
bad=$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z mwgd\[[0-9]+\]: ' "$log_file" || true)
[ -z "$bad" ] || fail "lines that are not one event each: $(head -3 <<<"$bad")"
log "ok: every line is one event ($(wc -l <"$log_file") lines)"
n=$(grep -c "FORGED" "$log_file" || true)
[ "$n" -gt 0 ] || fail "no hostile string reached the log at all: the test proves nothing"
expect_eq "$(grep -cE '\\x[0-9a-f]{2}(31m)?mwgd\[1\] FORGED' "$log_file" || true)" "$n" \
	"each of the $n lines that carry a hostile string carries it escaped"
