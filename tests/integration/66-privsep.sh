#!/usr/bin/env bash
# Privilege separation (issue 14). After mwgd has served an enrolment
# (EST), a login (PAM + TOTP) and a tunnel, the network process holds none
# of the issuing CA key's scalar, the TLS server key's (the monitor signs
# each handshake), the audit key, secrets.key's bytes, the TOTP secret or
# the password (read through /proc/PID/mem), while the monitor holds the
# CA key and the server key (the positive control). It runs as mwg-net with
# Seccomp 2 and NoNewPrivs 1, in an empty root (release builds: 67 runs
# this scenario on one). A forbidden system call (the test build's SIGUSR2
# trigger) kills it with SIGSYS; the monitor audits daemon.child_exit,
# closes and audits the tunnel it held, and a new one serves within 1 s.
# When the monitor dies, the network process exits at once.
. "$(dirname "$0")/common.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (two users, /proc/PID/mem)"
getent passwd mwg-net >/dev/null || fail "no user mwg-net (deploy/deps.sh test makes it)"
MWG=$BIN/mwg
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ALICE_PW=alice-Pw-66e1d4
SSH_PORT=$((BASE + 9))
LPORT=$((BASE + 10))
make_ca
setup_identity "alice:$ALICE_PW:locums"
# A time zone and hours: the network process decides with the zone file
# the monitor read (it cannot open /usr/share/zoneinfo itself).
write_policy "timezone Europe/London
role tester {
    groups locums
    practices *
    targets echo
    hours mon-sun 00:00-24:00
}"
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
enrol_totp alice
D=$T/mwg

# The network process: mwgd's one child running --network-process.
net_pid() { pgrep -P "$MWGD_PID" -f -- '--network-process' || true; }
NET=$(net_pid)
[ -n "$NET" ] || fail "no network process under mwgd $MWGD_PID"

# ---- the sandbox, from /proc ----
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$NET/status"; }
expect_eq "$(status Uid)" "$(id -u mwg-net)" "network process runs as mwg-net"
expect_eq "$(awk '$1 == "Uid:" { print $2 }' "/proc/$MWGD_PID/status")" 65534 "monitor runs as mwgd.conf's user"
expect_eq "$(status NoNewPrivs)" 1 "NoNewPrivs"
expect_eq "$(status Seccomp)" 2 "seccomp filter mode"
expect_eq "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$NET/status")" 0000000000000000 "no effective capability"
expect_eq "$(awk '$1 == "CapPrm:" { print $2 }' "/proc/$NET/status")" 0000000000000000 "no permitted capability"
if ldd "$BIN/mwgd" | grep libasan >/dev/null; then
	log "sanitizer build: the empty root is relaxed (LeakSanitizer reads /proc); 67 checks a release build"
else
	expect_eq "$(readlink "/proc/$NET/root")" /var/empty "network process's root is its empty directory"
fi

# ---- an enrolment, a login and a tunnel ----
code=$(enrol_code_create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null
totp_settle
printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - \
	--otp "$(totp_code)" >/dev/null
"$MWG" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" \
	>"$T/connect.out" 2>"$T/connect.err" &
proc_track connect $! 143 "$T/connect.err"
for _ in $(seq 100); do [ -s "$T/connect.out" ] && break; sleep 0.05; done
exec 3<>"/dev/tcp/127.0.0.1/$LPORT"
printf 'before\n' >&3
read -r -t 10 line <&3 || fail "no echo through the tunnel"
expect_eq "$line" before "a tunnel through the network process"
audit_wait '.["event.action"] == "tunnel.open" and .["event.outcome"] == "success"' 1
expect_eq "$(audit_count '.["event.action"] == "tunnel.open" and .["mwg.origin"] == "network"')" \
	"$(audit_count '.["event.action"] == "tunnel.open"')" \
	"the network process's records say so (mwg.origin)"
expect_eq "$(audit_count '.["event.action"] == "session.issue" and .["mwg.origin"] != null')" 0 \
	"the monitor's own records are not marked"

# An SSH tunnel too: the device key and the live session of the login.
for k in ed25519 ecdsa; do
	printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")"
done >"$T/known_hosts"
out=$(printf 'over-ssh\n' | timeout 30 ssh -i "$D/device.key" -o IdentitiesOnly=yes \
	-o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes \
	-o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
	-p "$SSH_PORT" -W "echo.K84001:$ECHO_PORT" alice@127.0.0.1 2>"$T/ssh.err") ||
	fail "ssh -W through the network process: $(cat "$T/ssh.err")"
expect_eq "$out" over-ssh "an SSH tunnel through the network process"

# ---- what each process holds ----
hexof() { xxd -p | tr -d '\n'; }
scalar() { openssl pkey -in "$1" -text -noout |
	awk '/^priv:/ { f = 1; next } /^pub:/ { f = 0 } f' | tr -d ' :\n'; }
ca_scalar=$(scalar "$T/ca/issuing.key")
server_scalar=$(scalar "$T/ca/server.key")
[ ${#ca_scalar} -ge 62 ] && [ ${#server_scalar} -ge 62 ] || fail "could not read the keys' scalars"
audit_seed=$(openssl pkey -in "$T/state/audit.key" -outform DER | tail -c 32 | hexof)
store_key=$(hexof <"$T/state/secrets.key")
totp_raw=$(python3 -c 'import base64,sys; s=sys.argv[1]; print(base64.b32decode(s + "=" * (-len(s) % 8)).hex())' "$TOTP_B32")
totp_text=$(printf '%s' "$TOTP_B32" | hexof)
password=$(printf '%s' "$ALICE_PW" | hexof)
scan() { python3 "$ROOT/tests/tools/memscan.py" "$@"; }
out=$(scan "$NET" issuing-key="$ca_scalar" tls-server-key="$server_scalar" audit-key="$audit_seed" secrets-key="$store_key" \
	totp-secret="$totp_raw" totp-secret-base32="$totp_text" password="$password")
log "network process $NET:"; echo "$out"
expect_eq "$(grep -c '^found' <<<"$out" || true)" 0 "the network process holds no key and no secret"
out=$(scan "$MWGD_PID" issuing-key="$ca_scalar" tls-server-key="$server_scalar")
expect_eq "$(tr '\n' ' ' <<<"$out")" "found issuing-key found tls-server-key " \
	"positive control: the monitor holds the issuing key and the server key"

# ---- a forbidden system call ----
kill -USR2 "$NET"
t0=$(date +%s%N)
for _ in $(seq 100); do [ -e "/proc/$NET" ] || break; sleep 0.02; done
[ -e "/proc/$NET" ] && fail "the network process survived a forbidden system call"
wait_for_line "$T/mwgd.log" "network process $NET killed by signal 31"
audit_wait '.["event.action"] == "daemon.child_exit"' 1
expect_eq "$(audit_select '.["event.action"] == "daemon.child_exit"' | jq -c '[.["process.pid"], .["process.exit_signal"]]')" \
	"[$NET,31]" "daemon.child_exit names the process and SIGSYS"
audit_wait '.["event.action"] == "tunnel.close" and .["event.reason"] == "network-process-exited"' 1
expect_eq "$(audit_select '.["event.action"] == "tunnel.close" and .["event.reason"] == "network-process-exited"' | jq -r '.["tunnel.id"]')" \
	"$(audit_select '.["event.action"] == "tunnel.open" and .["network.protocol"] != "ssh"' | jq -r '.["tunnel.id"]' | head -1)" \
	"the TLS tunnel it held is closed and audited"
NEW=
for _ in $(seq 100); do NEW=$(net_pid); [ -n "$NEW" ] && [ "$NEW" != "$NET" ] && grep -q "network process $NEW serving" "$T/mwgd.log" && break; sleep 0.01; done
t1=$(date +%s%N)
[ -n "$NEW" ] && [ "$NEW" != "$NET" ] || fail "no new network process"
ms=$(( (t1 - t0) / 1000000 ))
log "a new network process ($NEW) served ${ms} ms after the old one was told to die"
[ "$ms" -lt 1000 ] || fail "the new network process took ${ms} ms (limit 1000)"
exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$LPORT"
printf 'after\n' >&3
read -r -t 10 line <&3 || fail "no echo through a new tunnel"
expect_eq "$line" after "the next CONNECT is served by the new network process"
exec 3>&-
stop_proc connect

# ---- the monitor dies: the network process goes with it ----
# Running, not a zombie waiting for init to reap it.
running() { grep -Eq '^State:[[:space:]]+[^Z]' "/proc/$1/status" 2>/dev/null; }
kill -9 "$MWGD_PID"
proc_forget mwgd
for _ in $(seq 50); do running "$NEW" || break; sleep 0.02; done
running "$NEW" && fail "the network process outlived the monitor"
log "ok: the network process exited with the monitor"
