#!/usr/bin/env bash
# The SSH jump listener with the stock OpenSSH client: ssh -W and ssh -J
# through mwgd to plain TCP targets, 1 MiB byte-exact each way, with both
# second factors (a live session from login, and keyboard-interactive
# password + TOTP through SSH_ASKPASS); refused keys, codes, targets,
# channel kinds and people, each audited.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-5b01d3
BOB_PW=bob-Pw-c3a9e0
SSH_PORT=$((BASE + 9))
make_ca
setup_identity "alice:$ALICE_PW:locums" "bob:$BOB_PW:locums"
enrol_device laptop-1 alice
enrol_device laptop-2 bob
enrol_device old-1 alice
write_policy "practice K84002 \"Other\" {
    target secret 127.0.0.1:$ECHO_PORT
}
practice K84009 \"Jump\" {
    target sshgw 127.0.0.1:$SSH_PORT
}
member group locums { practices K84009 }
role ssh-users {
    groups  locums
    targets echo sshgw
}"
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
enrol_totp alice
ALICE_TOTP=$TOTP_B32
enrol_totp bob
BOB_TOTP=$TOTP_B32
TOTP_B32=$ALICE_TOTP

for k in ed25519 ecdsa; do
	expect_eq "$(stat -c %a "$T/state/ssh_host_${k}_key")" 600 "host key $k is 0600"
done
# The gateway's host keys, under its address and under the jump target's
# name (ssh -J reaches mwgd itself as sshgw.K84009 in one test).
for k in ed25519 ecdsa; do
	pub=$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")
	printf '[127.0.0.1]:%s %s\n[sshgw.k84009]:%s %s\n' "$SSH_PORT" "$pub" "$SSH_PORT" "$pub"
done >"$T/known_hosts"

# One ssh config per device; -J passes -F (not -o) to the jump hop. The
# jump target sshgw.K84009 keeps its name: the jump hop resolves it.
ssh_conf() {	# device user file [extra lines]
	cat >"$3" <<CONF
Host gw
    HostName 127.0.0.1
Host gw sshgw.K84009
    Port $SSH_PORT
    User $2
    IdentityFile $T/$1.key
    IdentitiesOnly yes
    UserKnownHostsFile $T/known_hosts
    StrictHostKeyChecking yes
    GlobalKnownHostsFile /dev/null
    PreferredAuthentications publickey,keyboard-interactive
    ConnectTimeout 10
    LogLevel ERROR
${4:-}
CONF
}
ssh_conf laptop-1 alice "$T/ssh-alice" "    BatchMode yes"
ssh_conf laptop-2 bob "$T/ssh-bob" "    BatchMode yes"
ssh_conf old-1 alice "$T/ssh-old" "    BatchMode yes"
ssh_conf laptop-2 bob "$T/ssh-bob-kbd" "    NumberOfPasswordPrompts 1"
ssh_conf laptop-1 bob "$T/ssh-bob-on-alice" "    BatchMode yes"

head -c 1048576 /dev/urandom >"$T/mib"

# No login yet: publickey alone leaves keyboard-interactive, which batch
# mode cannot answer.
rc=0; timeout 20 ssh -F "$T/ssh-alice" -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>"$T/err" || rc=$?
expect_eq "$rc" 255 "no session, no answers: refused"
audit_wait '.["event.action"]=="ssh.auth" and .["event.outcome"]=="failure" and .["event.reason"]=="no second factor given" and .["device.id"]=="laptop-1"' 1

# ---- (a) the session from mwg login --------------------------------------
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
expect_eq "$(tail -1 <<<"$r")" 200 "alice logs in over HTTPS"
timeout 30 ssh -F "$T/ssh-alice" -W "echo.K84001:$ECHO_PORT" gw <"$T/mib" >"$T/mib.out" 2>"$T/ssh-w.out" || fail "ssh -W: $(cat "$T/ssh-w.out")"
cmp -s "$T/mib" "$T/mib.out" || fail "ssh -W: 1 MiB did not come back byte-exact"
log "ok: ssh -W with a live session: 1 MiB each way, byte-exact"
audit_wait '.["event.action"]=="ssh.auth" and .["event.outcome"]=="success" and .["mwg.auth_method"]=="publickey+session"' 1
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh" and .["network.bytes_up"]==1048576 and .["network.bytes_down"]==1048576' 1
rec=$(audit_select '.["event.action"]=="tunnel.open" and .["network.protocol"]=="ssh"' | head -1)
expect_eq "$(jq -r '[.["user.name"], .["device.id"], .["source.ip"], .["destination.address"], .["organization.id"]]|join(" ")' <<<"$rec")" \
	"alice laptop-1 127.0.0.1 echo.K84001 K84001" "tunnel.open names who, from where, to what"

# mwg ssh-config: host keys fetched from the gateway, a config that works.
D=$T/mwg-a
mkdir -m 700 "$D"
printf '127.0.0.1:%s\n' "$GW_PORT" >"$D/gateway"
install -m 600 "$T/laptop-1.key" "$D/device.key"
printf '{"user":"alice","practices":["K84001","K84009"]}\n' >"$D/session.json"
out=$("$BIN/mwg" ssh-config --dir "$D" --port "$SSH_PORT")
expect_match "$out" "ProxyJump mwg-gateway" "ssh-config: ProxyJump for the practices"
expect_match "$out" "Host \*\.K84001 \*\.K84009" "ssh-config: one Host line for the practices"
expect_eq "$(grep -c "^\[127.0.0.1\]:$SSH_PORT ssh-ed25519 " "$D/ssh_known_hosts")" 1 "ssh-config: the Ed25519 host key"
for k in ed25519; do
	grep -qF "$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key" | cut -d' ' -f2)" "$D/ssh_known_hosts" ||
		fail "ssh-config: the $k host key is not the gateway's"
done
expect_eq "$(stat -c %a "$D/ssh_config")" 600 "ssh-config: ssh_config 0600"
r=$(printf 'via-ssh-config\n' | timeout 20 ssh -F "$D/ssh_config" -o BatchMode=yes -W "echo.K84001:$ECHO_PORT" mwg-gateway)
expect_eq "$r" via-ssh-config "ssh-config: stock ssh uses the written config"
rc=0; "$BIN/mwg" ssh-config --dir "$D" --port 0 >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "ssh-config: a bad port is a usage error"

# ssh -J: mwgd reaches the target sshgw.K84009, which is mwgd's own SSH
# listener; that hop then forwards to the echo backend.
timeout 30 ssh -F "$T/ssh-alice" -J gw -W "echo.K84001:$ECHO_PORT" sshgw.K84009 <"$T/mib" >"$T/mib.out"
cmp -s "$T/mib" "$T/mib.out" || fail "ssh -J: 1 MiB did not come back byte-exact"
log "ok: ssh -J through mwgd: 1 MiB each way, byte-exact"
audit_wait '.["event.action"]=="tunnel.close" and .["destination.address"]=="sshgw.K84009"' 1
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh" and .["network.bytes_up"]==1048576 and .["network.bytes_down"]==1048576' 2

# ---- refusals with a live session ----------------------------------------
refused() {	# config what ssh-args...
	local cfg=$1 what=$2 rc=0; shift 2
	timeout 20 ssh -F "$cfg" "$@" </dev/null >/dev/null 2>&1 || rc=$?
	expect_eq "$rc" 255 "$what: refused"
}
refused "$T/ssh-alice" "a target the role does not grant" -W "emis.K84001:$HTTP_PORT" gw
audit_wait '.["event.action"]=="tunnel.deny" and .["network.protocol"]=="ssh" and .["destination.address"]=="emis.K84001" and .["user.name"]=="alice"' 1
refused "$T/ssh-alice" "a practice alice is no member of" -W "secret.K84002:$ECHO_PORT" gw
audit_wait '.["event.action"]=="tunnel.deny" and .["destination.address"]=="secret.K84002"' 1
# ---- a defined target's address:port in place of its name -----------------
# ssh -J with HostName 127.0.0.1: mwgd is asked for 127.0.0.1:SSH_PORT,
# which only sshgw.K84009 is, and decides and records it under that name.
printf 'by-address\n' | timeout 30 ssh -F "$T/ssh-alice" -J gw -o HostName=127.0.0.1 \
	-W "echo.K84001:$ECHO_PORT" sshgw.K84009 >"$T/addr.out" 2>"$T/addr.err" || fail "ssh -J by address: $(cat "$T/addr.err")"
expect_eq "$(cat "$T/addr.out")" by-address "ssh -J to a defined target's address:port"
audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success" and .["destination.address"]=="sshgw.K84009" and .["organization.id"]=="K84009"' 2
# emis.K84001's address: mapped to its name, then refused by the role.
refused "$T/ssh-alice" "the address of a target the role does not grant" -W "127.0.0.1:$HTTP_PORT" gw
audit_wait '.["event.action"]=="tunnel.deny" and .["destination.address"]=="emis.K84001" and .["destination.port"]=='"$HTTP_PORT"' and (.["event.reason"]|test("NAME.PRACTICE")|not)' 2
# No target there; and echo.K84001 and secret.K84002 share one address.
refused "$T/ssh-alice" "an address no target has" -W "127.0.0.1:$((BASE + 16))" gw
refused "$T/ssh-alice" "an address two practices define" -W "127.0.0.1:$ECHO_PORT" gw
audit_wait '.["event.action"]=="tunnel.deny" and .["destination.address"]=="127.0.0.1" and (.["event.reason"]|test("NAME.PRACTICE"))' 2
refused "$T/ssh-alice" "a command (session channel)" gw true
audit_wait '.["event.action"]=="ssh.refuse" and (.["mwg.ssh_request"]|test("^session channel"))' 1
refused "$T/ssh-alice" "remote forwarding" -N -o ExitOnForwardFailure=yes -R "127.0.0.1:$((BASE + 15)):127.0.0.1:$ECHO_PORT" gw
audit_wait '.["event.action"]=="ssh.refuse" and .["mwg.ssh_request"]=="remote forwarding (tcpip-forward)"' 1
refused "$T/ssh-bob-on-alice" "alice's personal device used by bob" -W "echo.K84001:$ECHO_PORT" gw
audit_wait '.["event.action"]=="ssh.auth" and .["event.reason"]=="personal device of alice" and .["user.name"]=="bob"' 1
"$BIN/mwgctl" -s "$CTL" device revoke old-1 --reason "stolen laptop" >/dev/null
refused "$T/ssh-old" "a revoked device" -W "echo.K84001:$ECHO_PORT" gw
audit_wait '.["event.action"]=="ssh.auth" and .["device.id"]=="old-1" and (.["event.reason"]|test("^device revoked: stolen laptop"))' 1

# ---- (b) keyboard-interactive: password, then the TOTP code --------------
# bob has no session. Answers come from SSH_ASKPASS (no terminal).
cat >"$T/askpass" <<ASK
#!/bin/sh
case "\$1" in
*assword*) cat "$T/ask-pw" ;;
*code*) cat "$T/ask-code" ;;
*) exit 1 ;;
esac
ASK
chmod 755 "$T/askpass"
kbd_ssh() {	# password code ssh-args...
	printf '%s\n' "$1" >"$T/ask-pw"; printf '%s\n' "$2" >"$T/ask-code"; shift 2
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		timeout 30 setsid ssh -F "$T/ssh-bob-kbd" "$@"
}
TOTP_B32=$BOB_TOTP
totp_settle
# A right code sent to HTTPS login with a wrong password is spent; SSH
# shares the once-only rule, so it is refused there too.
code=$(totp_code)
r=$(gw_login laptop-2 bob wrong-password "$code" 127.0.0.21)
expect_eq "$(tail -1 <<<"$r")" 401 "bob's HTTPS login with a wrong password"
rc=0; kbd_ssh "$BOB_PW" "$code" -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "keyboard-interactive with a spent code: refused"
audit_wait '.["event.action"]=="ssh.auth" and .["user.name"]=="bob" and .["event.reason"]=="code already used" and .["mwg.auth_method"]=="publickey+keyboard-interactive"' 1
kbd_ssh "$BOB_PW" "$(totp_code 1)" -W "echo.K84001:$ECHO_PORT" gw <"$T/mib" >"$T/mib.out"
cmp -s "$T/mib" "$T/mib.out" || fail "keyboard-interactive: 1 MiB did not come back byte-exact"
log "ok: ssh -W with password + TOTP: 1 MiB each way, byte-exact"
audit_wait '.["event.action"]=="ssh.auth" and .["event.outcome"]=="success" and .["user.name"]=="bob" and .["mwg.auth_method"]=="publickey+keyboard-interactive"' 1
rc=0; kbd_ssh "$BOB_PW" 123456 -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "keyboard-interactive with a wrong code: refused"
audit_wait '.["event.action"]=="ssh.auth" and .["user.name"]=="bob" and .["event.reason"]=="wrong code"' 1
rc=0; kbd_ssh wrong-password 123456 -W "echo.K84001:$ECHO_PORT" gw </dev/null >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 255 "keyboard-interactive with a wrong password: refused"
audit_wait '.["event.action"]=="ssh.auth" and .["user.name"]=="bob" and (.["event.reason"]|test("^wrong password; wrong code"))' 1

# ---- a lock cuts a person off: new sessions and live tunnels -------------
coproc LIVE { timeout 30 ssh -F "$T/ssh-alice" -W "echo.K84001:$ECHO_PORT" gw || true; }
PIDS+=("$LIVE_PID")
printf 'ping\n' >&"${LIVE[1]}"
read -r -t 10 line <&"${LIVE[0]}" || fail "no echo through a live SSH tunnel"
expect_eq "$line" ping "a live SSH tunnel echoes"
"$BIN/mwgctl" -s "$CTL" lock user alice --reason "left the practice" >/dev/null
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh" and .["user.name"]=="alice" and (.["event.reason"]|test("locked"))' 1
log "ok: the lock closed alice's live SSH tunnel (audited)"
refused "$T/ssh-alice" "a locked person, even with a live session" -W "echo.K84001:$ECHO_PORT" gw
audit_wait '.["event.action"]=="ssh.auth" and .["event.outcome"]=="failure" and .["user.name"]=="alice" and (.["event.reason"]|test("locked"))' 1

expect_eq "$(audit_count '.["network.protocol"]=="ssh" and .["event.action"]=="tunnel.open"')" \
	"$(audit_count '.["network.protocol"]=="ssh" and .["event.action"]=="tunnel.close"')" "every SSH tunnel.open has its tunnel.close"
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null
log "ok: audit chain verifies"
