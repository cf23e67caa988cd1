#!/usr/bin/env bash
# A tunnel the gateway cuts is not a success: after a reload that denies
# it, the idle limit, a lock, a stop and a revocation, `ssh -W` exits 255
# and prints why, and tunnel.close carries the documented reason with the
# detail apart (mwg.close_detail).
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ssh-common.sh"
ALICE_PW=alice-Pw-37f6a8
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
ssh_alice_session
told() {	# what ssh must print after "mwg: "
	tr -d '\r' <"$T/live.err" | grep -qxF "Received disconnect from 127.0.0.1 port $SSH_PORT:11: mwg: $1" ||
		fail "ssh did not print 'mwg: $1': $(cat "$T/live.err")"
	log "ok: ssh prints: mwg: $1"
}

# ---- a reload that denies the tunnel ------------------------------------
ssh_live "$T/ssh-alice"
cp "$T/policy.conf" "$T/policy.keep"
sed -i 's/^    targets   \*$/    targets   emis/' "$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
expect_eq "$(ssh_live_end)" rc=255 "reload: ssh -W exits 255"
expect_eq "$(ssh_live_close)" "policy-changed | target: the role does not include echo (role staff) | default-deny" \
	"reload: tunnel.close policy-changed, the policy's reason, rule default-deny"
told "tunnel to echo.K84001 closed (policy-changed): target: the role does not include echo (role staff)"
cp "$T/policy.keep" "$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null

# ---- a lock on the person -----------------------------------------------
ssh_live "$T/ssh-alice"
"$BIN/mwgctl" -s "$CTL" lock user alice --reason "laptop left on a train" >/dev/null
expect_eq "$(ssh_live_end)" rc=255 "lock: ssh -W exits 255"
expect_eq "$(ssh_live_close)" "user-locked | locked: laptop left on a train | role staff" "lock: tunnel.close user-locked"
told "connection closed: your access is locked by IT; contact the service desk"
"$BIN/mwgctl" -s "$CTL" unlock user alice >/dev/null

# ---- the gateway stops --------------------------------------------------
ssh_live "$T/ssh-alice"
stop_mwgd
expect_eq "$(ssh_live_end)" rc=255 "stop: ssh -W exits 255"
expect_eq "$(ssh_live_close)" "shutdown | - | role staff" "stop: tunnel.close shutdown"
told "the gateway is restarting; connect again in a minute"
start_mwgd
wait_port "$SSH_PORT"

# ---- idle: nothing moves for 3 s ----------------------------------------
write_conf "listen ssh 127.0.0.1:$SSH_PORT
timeouts { idle 3s }"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
ssh_live "$T/ssh-alice"
expect_eq "$(ssh_live_end 10)" rc=255 "idle: ssh -W exits 255"
expect_eq "$(ssh_live_close)" "idle-timeout | - | role staff" "idle: tunnel.close idle-timeout"
ms=$(audit_select '.["event.action"]=="tunnel.close" and .["tunnel.id"]=='"$LIVE_ID" | jq '.["event.duration_ms"]')
[ "$ms" -ge 3000 ] && [ "$ms" -lt 4500 ] || fail "idle: closed after $ms ms, not 3-4.5 s (checked once a second)"
log "ok: idle: closed after $ms ms"
told "tunnel to echo.K84001 closed: no data moved for the idle time limit; connect again"

write_conf "listen ssh 127.0.0.1:$SSH_PORT"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null

# ---- the device is revoked ----------------------------------------------
ssh_live "$T/ssh-alice"
"$BIN/mwgctl" -s "$CTL" device revoke laptop-1 --reason "reported stolen" >/dev/null
expect_eq "$(ssh_live_end)" rc=255 "revoke: ssh -W exits 255"
expect_eq "$(ssh_live_close)" "device-revoked | revoked: reported stolen | role staff" "revoke: tunnel.close device-revoked"
told "connection closed: this device was revoked by IT; contact the service desk"
expect_eq "$(audit_count '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"')" 5 "five tunnels opened"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close"')" 5 "five closed, each once"
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null
log "ok: audit chain verifies"
