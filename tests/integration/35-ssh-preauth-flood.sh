#!/usr/bin/env bash
# Silent TCP connections cannot lock people out of SSH: 256 from one
# address hold per-source-max-startups (10) slots, the other 246 are closed
# at once, a person at another address logs in meanwhile, and the 10 are
# cut at the 10 s key-exchange deadline, after which that address logs in
# too. Refusals make one log line per 10 s, and no audit record. Then, after
# a reload to max-startups 2:100:4, a third unauthenticated connection is
# refused whatever its address, until the first two go.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ssh-common.sh"
ALICE_PW=alice-Pw-35b2c4
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
ssh_alice_session
through() {	# source address: one line through an SSH tunnel from there
	printf 'from-%s\n' "$1" | timeout 20 ssh -F "$T/ssh-alice" -o BindAddress="$1" \
		-W "echo.K84001:$ECHO_PORT" gw 2>"$T/through.err"
}

free=$(grep -c 'unauthenticated connections now 0$' "$T/mwgd.log")
silent_conns 256 127.0.0.1 "$T/flood" 15
expect_eq "$(through 127.0.0.2)" from-127.0.0.2 "a person at another address logs in during the flood"
wait "$SILENT_PID"
expect_eq "$(silent_count "$T/flood" 0 2)" 246 "246 silent connections closed at once (per-source limit)"
expect_eq "$(silent_count "$T/flood" 10 11.5)" 10 "10 held until the key-exchange deadline (10 s), then closed"
expect_eq "$(grep -c open "$T/flood" || true)" 0 "none left open"
ssh_wait_slots_free $((free + 1))
expect_eq "$(through 127.0.0.1)" from-127.0.0.1 "the flooding address logs in once its slots are cut"
expect_eq "$(grep -c 'per-source-max-startups reached: connection refused' "$T/mwgd.log")" 1 "one log line for 246 refusals"
audit_wait '.["event.action"]=="tunnel.close"' 2
expect_eq "$(audit_select '.["network.protocol"]=="ssh"' | jq -r '.["event.action"]' | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
	"ssh.auth=2 tunnel.close=2 tunnel.open=2 " "SSH records: the two logins and their tunnels, none for 256 silent connections"

# ---- max-startups: the total, from any address --------------------------
write_conf "listen ssh 127.0.0.1:$SSH_PORT { max-startups 2:100:4 }"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
free=$(grep -c 'unauthenticated connections now 0$' "$T/mwgd.log")
silent_conns 2 127.0.0.3 "$T/two" 4
silent_conns 1 127.0.0.4 "$T/third" 2
rc=0; through 127.0.0.2 >/dev/null || rc=$?
expect_eq "$rc" 255 "with 2 unauthenticated connections (START 2, RATE 100) a login is refused"
wait "$SILENT_PID"
expect_eq "$(silent_count "$T/third" 0 1)" 1 "a third silent connection is closed at once"
while kill -0 "${PIDS[-2]}" 2>/dev/null; do sleep 0.1; done
expect_eq "$(cat "$T/two")" "$(printf 'open\nopen')" "the first two were held (4 s < 10 s deadline)"
ssh_wait_slots_free $((free + 1))
expect_eq "$(through 127.0.0.2)" from-127.0.0.2 "once they go, the login works"
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null
log "ok: audit chain verifies"
