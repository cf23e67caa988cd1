#!/usr/bin/env bash
# SSH refusals, each with its one exact ssh.auth or ssh.refuse record:
# eight unknown keys in one connection (max-auth-tries 6, then
# disconnect: one record counting 6), three wrong answers (one record
# counting 3), a throttled person, an expired session, X11 and agent
# channels (opened by a libssh client, as OpenSSH never does) and -X/-A;
# refused channels with a CONNECT's error code; login-grace-time.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ssh-common.sh"
ALICE_PW=alice-Pw-36a0b1
BOB_PW=bob-Pw-36c2d3
DAVE_PW=dave-Pw-36e4f5
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians" "bob:$BOB_PW:gp-clinicians" \
	"carol:carol-Pw-36:gp-clinicians" "dave:$DAVE_PW:gp-clinicians"
for d in laptop-1:alice laptop-2:bob laptop-3:carol laptop-4:dave; do enrol_device "${d%:*}" "${d#*:}"; done
# carol's session ended an hour ago; dave is throttled for 5 minutes.
now=$(date +%s)
sqlite3 "$(ls "$T"/state/*.db)" "INSERT INTO sessions (serial, user, device_id, issued_at, expires_at) VALUES ('0A0B', 'carol', 'laptop-3', $((now - 7200)), $((now - 3600)));
	INSERT INTO throttle VALUES ('user:dave', 9, $now, $((now + 300)));"
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
enrol_totp alice
ALICE_TOTP=$TOTP_B32
enrol_totp bob
enrol_totp dave
DAVE_TOTP=$TOTP_B32
TOTP_B32=$ALICE_TOTP
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
expect_eq "$(tail -1 <<<"$r")" 200 "alice logs in over HTTPS"
ssh_known_hosts
ssh_conf laptop-1 alice "$T/ssh-alice" "    BatchMode yes"
ssh_conf laptop-2 bob "$T/ssh-bob" "    NumberOfPasswordPrompts 5"
ssh_conf laptop-3 carol "$T/ssh-carol" "    BatchMode yes"
ssh_conf laptop-4 dave "$T/ssh-dave" "    NumberOfPasswordPrompts 1"
ssh_conf laptop-3 carol "$T/ssh-carol-kbd" "    NumberOfPasswordPrompts 1"
# The one ssh.auth record of the session that matches cond, as fields.
auth_record() {	# condition
	audit_wait '.["event.action"]=="ssh.auth" and '"$1" 1
	sid=$(audit_select '.["event.action"]=="ssh.auth" and '"$1" | jq -r '.["ssh.session.id"]')
	expect_eq "$(audit_count '.["ssh.session.id"]=='"$sid")" 1 "one record for session $sid" >&2
	audit_select '.["ssh.session.id"]=='"$sid" | jq -r \
		'[.["event.outcome"], .["mwg.auth_failures"], (.["mwg.auth_methods"]|join(",")), .["event.reason"]]|join(" | ")'
}

# ---- eight unknown keys: six refusals, then a disconnect ----------------
ids=()
for i in 1 2 3 4 5 6 7 8; do
	ssh-keygen -q -t ecdsa -b 256 -N '' -f "$T/stray-$i.key"
	ids+=(-i "$T/stray-$i.key")
done
rc=0; timeout 20 ssh -F "$T/ssh-alice" -o IdentityFile=none "${ids[@]}" -W "echo.K84001:$ECHO_PORT" gw \
	</dev/null >/dev/null 2>"$T/stray.err" || rc=$?
expect_eq "$rc" 255 "eight unknown keys: refused"
expect_match "$(cat "$T/stray.err")" "Received disconnect from 127.0.0.1 port $SSH_PORT:11: mwg: too many authentication failures" "ssh says why"
expect_match "$(auth_record '.["mwg.auth_failures"]==6')" \
	"^failure \| 6 \| publickey \| key [0-9a-f]{16}\.\.\. is no enrolled device's$" "one record: 6 publickey refusals"

# ---- three wrong answers in one connection ------------------------------
rc=0; kbd_ssh wrong-password 000000 -F "$T/ssh-bob" -o BindAddress=127.0.0.6 -W "echo.K84001:$ECHO_PORT" gw \
	</dev/null >/dev/null 2>"$T/bob.err" || rc=$?
expect_eq "$rc" 255 "three wrong answers: refused"
expect_match "$(cat "$T/bob.err")" "mwg: too many authentication failures" "ssh says why after three"
expect_eq "$(auth_record '.["user.name"]=="bob"')" \
	"failure | 3 | keyboard-interactive | wrong password; wrong code" "one record: 3 wrong answers"

# ---- throttled: the right password and code are not even checked --------
TOTP_B32=$DAVE_TOTP
rc=0; kbd_ssh "$DAVE_PW" "$(totp_code)" -F "$T/ssh-dave" -o BindAddress=127.0.0.7 -W "echo.K84001:$ECHO_PORT" gw \
	</dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "a throttled person: refused"
expect_match "$(auth_record '.["user.name"]=="dave"')" \
	"^failure \| 1 \| keyboard-interactive \| throttled \((29[0-9]|300) s\)$" "one record: throttled"

# ---- an expired session is no second factor -----------------------------
rc=0; timeout 20 ssh -F "$T/ssh-carol" -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "an expired session: refused"
expect_eq "$(auth_record '.["user.name"]=="carol"')" "failure | 0 |  | no second factor given" "one record: no second factor"

# ---- X11 and agent channels, and -X -A on a session ---------------------
cat >"$T/chan.c" <<'C'
/* Opens one channel of kind argv[5] (x11 or agent) after publickey. */
#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
	ssh_session s = ssh_new(); ssh_channel ch; ssh_key k; int port = atoi(argv[2]), rc;
	ssh_options_set(s, SSH_OPTIONS_HOST, argv[1]);
	ssh_options_set(s, SSH_OPTIONS_PORT, &port);
	ssh_options_set(s, SSH_OPTIONS_USER, argv[3]);
	if (argc != 6 || ssh_connect(s) != SSH_OK ||
	    ssh_pki_import_privkey_file(argv[4], NULL, NULL, NULL, &k) != SSH_OK ||
	    ssh_userauth_publickey(s, NULL, k) != SSH_AUTH_SUCCESS) { puts("no session"); return 2; }
	ch = ssh_channel_new(s);
	rc = strcmp(argv[5], "x11") == 0 ? ssh_channel_open_x11(ch, "127.0.0.1", 6010) : ssh_channel_open_auth_agent(ch);
	puts(rc == SSH_OK ? "opened" : "refused");
	ssh_disconnect(s);
	return 0;
}
C
gcc -o "$T/chan" "$T/chan.c" -lssh
expect_eq "$("$T/chan" 127.0.0.1 "$SSH_PORT" alice "$T/laptop-1.key" x11)" refused "an X11 channel is refused"
expect_eq "$("$T/chan" 127.0.0.1 "$SSH_PORT" alice "$T/laptop-1.key" agent)" refused "an agent channel is refused"
rc=0; timeout 20 ssh -F "$T/ssh-alice" -X -A gw true </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "ssh -X -A with a command: refused"
audit_wait '.["event.action"]=="ssh.refuse"' 3
expect_eq "$(audit_select '.["event.action"]=="ssh.refuse"' | jq -r '[.["user.name"], .["event.outcome"], .["mwg.ssh_request"], .["event.reason"]]|join(" | ")')" \
"alice | failure | X11 forwarding | only direct-tcpip channels to policy targets are served
alice | failure | agent forwarding | only direct-tcpip channels to policy targets are served
alice | failure | session channel (no shell, exec or subsystem is served) | only direct-tcpip channels to policy targets are served" \
	"three ssh.refuse records: X11, agent, the session channel (so -X and -A never reach a request)"
expect_eq "$(audit_count '.["event.action"]=="ssh.auth" and .["event.outcome"]=="failure"')" 4 "no other ssh.auth failure so far"

# ---- refused channels carry a CONNECT's error code ----------------------
for to in nope.K84001:443 127.0.0.9:1; do
	rc=0; timeout 20 ssh -F "$T/ssh-alice" -W "$to" gw </dev/null >/dev/null 2>&1 || rc=$?
	expect_eq "$rc" 255 "a channel to $to: refused"
done
audit_wait '.["event.action"]=="tunnel.deny"' 2
expect_eq "$(audit_select '.["event.action"]=="tunnel.deny"' | jq -r '[.["error.code"], .["destination.address"], .["event.reason"]]|join(" | ")')" \
"unknown-target | nope.K84001 | no target nope.K84001 is defined in policy
bad-target | 127.0.0.9 | the target must be NAME.PRACTICE and a port, e.g. emis.K84001 port 443, or the address and port of exactly one defined target" \
	"tunnel.deny: error.code, target and reason"
# ---- login-grace-time: a person who never answers ----------------------
write_conf "listen ssh 127.0.0.1:$SSH_PORT { login-grace-time 5s }"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
# The answer comes after 8 s: the gateway has cut the connection at 5 s.
printf '#!/bin/sh\nsleep 8\necho late\n' >"$T/askpass-stall"
chmod 755 "$T/askpass-stall"
start=$(date +%s%3N)
rc=0; SSH_ASKPASS="$T/askpass-stall" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 30 setsid \
	ssh -F "$T/ssh-carol-kbd" -o BindAddress=127.0.0.8 -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "no answer in time: refused"
expect_eq "$(auth_record '.["event.reason"]=="login grace time passed"')" "failure | 0 |  | login grace time passed" "one record: login grace time passed"
ms=$(( $(date -d "$(audit_select '.["event.reason"]=="login grace time passed"' | jq -r '.["@timestamp"]')" +%s%3N) - start ))
[ "$ms" -ge 5000 ] && [ "$ms" -le 6500 ] || fail "cut $ms ms after connecting, not at the 5 s grace"
log "ok: cut $ms ms after connecting (login-grace-time 5s)"
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null
log "ok: audit chain verifies"
