#!/usr/bin/env bash
# mwg open NAME.PRACTICE: a free local port, the tunnel, and the program
# the target's kind calls for, started with that program's arguments (a
# stand-in named like xfreerdp or ssh, chosen with MWG_OPEN_RDP and
# MWG_OPEN_SSH, so no GUI is needed); its bytes reach the practice system
# through the gateway; mwg ends when it exits. A cut while it runs (a lock)
# is shown on stderr with the gateway's reason and as a notification
# (MWG_NOTIFY stand-in). Refusals: not listed, break-glass without a
# reason, a web system with no mwg proxy running.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ALICE_PW=alice-Pw-87a9f3
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
cat >"$T/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target emis      127.0.0.1:$HTTP_PORT { kind web; host emis.k84001.example.nhs.uk }
    target reception 127.0.0.1:$ECHO_PORT { kind rdp; host reception.k84001.example.nhs.uk }
    target jump      127.0.0.1:$ECHO_PORT { kind ssh }
    target files     127.0.0.1:$ECHO_PORT
}
practice K84002 {
    target reception 127.0.0.1:$ECHO_PORT { kind rdp }
    target emis      127.0.0.1:$HTTP_PORT { kind web; host emis.k84002.example.nhs.uk }
}
role clinician { groups gp-clinicians; targets emis reception jump files }
role glass { groups gp-clinicians; practices *; targets reception emis; break-glass 1h }
member group gp-clinicians { practices K84001 }
POLICY
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd
enrol_totp alice
D=$T/laptop
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null
totp_settle
printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code)" >/dev/null

# Stand-ins: each records its arguments and environment, talks through
# the port it was given, and (if asked) holds the connection until told.
mkdir -p "$T/bin"
cat >"$T/bin/fake-xfreerdp" <<'SH'
#!/usr/bin/env bash
out=$STANDIN_OUT
printf '%s\n' "$*" >"$out.args"
printf '%s %s %s %s\n' "$MWG_OPEN_TARGET" "$MWG_OPEN_KIND" "$MWG_OPEN_HOST" "$MWG_OPEN_ADDR:$MWG_OPEN_PORT" >"$out.env"
port=$MWG_OPEN_PORT
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 3
printf 'hello from the desktop client\n' >&3
IFS= read -r -t 5 line <&3 || exit 4
printf '%s\n' "$line" >"$out.echo"
touch "$out.ready"
if [ -n "${STANDIN_HOLD:-}" ]; then
	# Until the gateway cuts the tunnel: then the read ends.
	IFS= read -r -t 20 line <&3 && exit 5
	for _ in $(seq 200); do [ -e "$STANDIN_HOLD" ] && break; sleep 0.05; done
fi
exit "${STANDIN_EXIT:-0}"
SH
cp "$T/bin/fake-xfreerdp" "$T/bin/ssh"
cat >"$T/bin/notify" <<'SH'
#!/usr/bin/env bash
printf '%s|%s\n' "$1" "$2" >>"$NOTIFY_OUT"
SH
chmod +x "$T/bin/"*
export NOTIFY_OUT=$T/notify.out MWG_NOTIFY=$T/bin/notify

# rdp: xfreerdp's arguments, bytes through, mwg ends with the program.
STANDIN_OUT=$T/rdp MWG_OPEN_RDP=$T/bin/fake-xfreerdp "$MWG" open --dir "$D" reception.K84001 2>"$T/open.err"
log "$(cat "$T/open.err")"
port=$(cut -d' ' -f4 "$T/rdp.env"); port=${port##*:}
expect_eq "$(cat "$T/rdp.args")" "/v:127.0.0.1:$port /cert-name:reception.k84001.example.nhs.uk" \
    "rdp: xfreerdp's arguments, the certificate checked under the real name"
expect_eq "$(cat "$T/rdp.env")" "reception.K84001:$ECHO_PORT rdp reception.k84001.example.nhs.uk 127.0.0.1:$port" "rdp: the program's environment"
[ "$port" != "$ECHO_PORT" ] && [ "$port" -gt 1024 ] || fail "rdp: not a free local port: $port"
expect_eq "$(cat "$T/rdp.echo")" "hello from the desktop client" "rdp: bytes through the gateway and back"
expect_eq "$(cat "$T/open.err")" "mwg: open: reception.K84001:$ECHO_PORT (rdp) on 127.0.0.1:$port with $T/bin/fake-xfreerdp
mwg: open: reception.K84001:$ECHO_PORT: $T/bin/fake-xfreerdp ended; tunnels closed" "rdp: what mwg says"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "the port still listens after mwg open ended"; fi
audit_wait '.["event.action"]=="tunnel.close" and .["destination.address"]=="reception.K84001"' 1
expect_eq "$(audit_count '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success" and .["destination.address"]=="reception.K84001"')" 1 \
    "rdp: one tunnel, audited"

# The program's exit status is mwg's.
rc=0; STANDIN_OUT=$T/rdp2 STANDIN_EXIT=7 MWG_OPEN_RDP=$T/bin/fake-xfreerdp "$MWG" open --dir "$D" reception.K84001 2>"$T/open2.err" || rc=$?
expect_eq "$rc $(tail -1 "$T/open2.err")" "1 mwg: open: reception.K84001:$ECHO_PORT: $T/bin/fake-xfreerdp exited with status 7; tunnels closed" \
    "a program that fails: mwg exits 1 and says so"

# ssh: options before the host, the host key checked under the system's name.
STANDIN_OUT=$T/ssh PATH="$T/bin:$PATH" "$MWG" open --dir "$D" jump.K84001 -- -l alice 2>/dev/null
port=$(cut -d' ' -f4 "$T/ssh.env"); port=${port##*:}
expect_eq "$(cat "$T/ssh.args")" "-p $port -o HostKeyAlias=jump.K84001 -l alice 127.0.0.1" "ssh: found in PATH, its arguments"
expect_eq "$(cat "$T/ssh.echo")" "hello from the desktop client" "ssh: bytes through"

# tcp: no program; the local port is said, and serves until stopped.
# exec: $! is mwg itself, which the kill below must reach.
(exec "$MWG" open --dir "$D" files.K84001 >"$T/tcp.out" 2>"$T/tcp.err") &
TCP_PID=$!
PIDS+=($TCP_PID)
for _ in $(seq 200); do [ -s "$T/tcp.out" ] && break; sleep 0.05; done
expect_match "$(cat "$T/tcp.out")" "^mwg: open: forwarding 127\.0\.0\.1:[0-9]+ to files\.K84001:$ECHO_PORT; stop with Ctrl-C$" "tcp: the local port is said"
port=$(sed -E 's/.*127\.0\.0\.1:([0-9]+) .*/\1/' "$T/tcp.out")
exec 5<>"/dev/tcp/127.0.0.1/$port"
printf 'through a plain port\n' >&5
IFS= read -r -t 5 line <&5 || fail "tcp: no echo"
exec 5>&-
expect_eq "$line" "through a plain port" "tcp: bytes through"
kill "$TCP_PID"; wait "$TCP_PID" 2>/dev/null || true

# A cut while the program runs: stderr and a notification, with the reason.
STANDIN_OUT=$T/cut STANDIN_HOLD=$T/release MWG_OPEN_RDP=$T/bin/fake-xfreerdp \
    "$MWG" open --dir "$D" reception.K84001 2>"$T/cut.err" &
OPEN_PID=$!
PIDS+=($OPEN_PID)
for _ in $(seq 200); do [ -e "$T/cut.ready" ] && break; sleep 0.05; done
[ -e "$T/cut.ready" ] || fail "the stand-in did not get through"
"$BIN/mwgctl" -s "$CTL" lock user alice --reason "test: laptop reported stolen" >/dev/null
for _ in $(seq 200); do [ -s "$NOTIFY_OUT" ] && break; sleep 0.05; done
touch "$T/release"
wait "$OPEN_PID" || true
log "$(cat "$T/cut.err")"
expect_eq "$(grep 'closed by the gateway' "$T/cut.err" | sed 's/127\.0\.0\.1:[0-9]*/ADDR/')" \
    "mwg: open: reception.K84001:$ECHO_PORT: tunnel for ADDR closed by the gateway: your access is locked by IT; contact the service desk (user-locked)" \
    "cut: the gateway's reason on stderr"
expect_eq "$(sed 's/127\.0\.0\.1:[0-9]*/ADDR/' "$NOTIFY_OUT")" \
    "mwg: reception.K84001|reception.K84001:$ECHO_PORT: tunnel for ADDR closed by the gateway: your access is locked by IT; contact the service desk (user-locked)" \
    "cut: the same as a desktop notification"
rc=0; err=$(MWG_OPEN_RDP=$T/bin/fake-xfreerdp "$MWG" open --dir "$D" reception.K84001 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: cannot learn what you may reach: your access is locked by IT; contact the service desk (403)" \
    "locked: mwg open says so before starting anything"
"$BIN/mwgctl" -s "$CTL" unlock user alice >/dev/null

# Refusals before anything starts.
rc=0; err=$("$MWG" open --dir "$D" payroll.K84001 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: payroll.K84001 is not among the systems you may reach now (mwg list shows them)" "not listed"
rc=0; err=$("$MWG" open --dir "$D" reception.k84002 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: reception.K84002 is reachable only with break-glass, in an emergency: mwg open reception.K84002 --break-glass REASON" \
    "break-glass system without a reason"
rc=0; err=$(MWG_OPEN_WEB=$T/bin/fake-xfreerdp "$MWG" open --dir "$D" emis.K84001 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: emis.K84001:$HTTP_PORT is a web system: it opens through mwg proxy, which is not running (start it with mwg proxy, and set the browser's proxy configuration URL to the one it prints)" \
    "web without mwg proxy"
rc=0; err=$(MWG_OPEN_WEB=$T/bin/fake-xfreerdp "$MWG" open --dir "$D" emis.K84002 --break-glass "incident 87" 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: emis.K84002:$HTTP_PORT is a web system reachable only with break-glass, which mwg proxy does not carry: call the service desk (they can open it with mwg connect emis.K84002:$HTTP_PORT --listen ... --break-glass REASON)" \
    "a break-glass web system: not through the proxy, said so"
rc=0; err=$("$MWG" open --dir "$D" 2>&1) || rc=$?
expect_eq "$rc" 2 "no system: bad usage"
rc=0; err=$("$MWG" open --dir "$D" reception.K84001 extra 2>&1) || rc=$?
expect_eq "$rc" 2 "two operands: bad usage"

# Break-glass with a reason: allowed, and audited as such.
STANDIN_OUT=$T/glass MWG_OPEN_RDP=$T/bin/fake-xfreerdp "$MWG" open --dir "$D" reception.K84002 \
    --break-glass "covering K84002, incident 87" 2>/dev/null
expect_eq "$(cat "$T/glass.echo")" "hello from the desktop client" "break-glass: bytes through"
audit_wait '.["event.action"]=="tunnel.open" and .["destination.address"]=="reception.K84002"' 1
expect_eq "$(audit_select '.["event.action"]=="tunnel.open" and .["destination.address"]=="reception.K84002"' | jq -r '.["event.reason"]')" \
    "break-glass" "break-glass: audited as such"
# A system no longer listed (the policy changed) but listed before: mwg
# open asks the gateway and gives its reason, not only "not listed".
sed -i 's/^role clinician { groups gp-clinicians; targets emis reception jump files }$/role clinician { groups gp-clinicians; targets emis reception }/' "$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
rc=0; err=$("$MWG" open --dir "$D" jump.K84001 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: jump.K84001:$ECHO_PORT: target: the role does not include jump (role clinician) (403)" \
    "no longer listed: the gateway's reason"
rc=0; err=$("$MWG" open --dir "$D" nope.K84001:443 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: open: nope.K84001:443: no target nope.K84001 is defined in policy (404)" \
    "named with a port: the gateway's reason"
stop_mwgd
