#!/usr/bin/env bash
# Least privilege for the cyber team: a member of the audit reader group
# reaches only mwgd's audit-control socket, where it may have an audit
# query or export recorded (and so see it) and nothing else: every other
# request the daemon knows is refused there, changes nothing and writes no
# record; the admin socket refuses the reader at the file's permissions.
# Two OS users (numeric, through setpriv): a reader and an administrator.
. "$(dirname "$0")/common.sh"
READER=4650 ADMIN=4651 READERS_GID=4660 ADMINS_GID=4661
ASOCK=$T/audit-control.sock
make_ca
make_device laptop-1
setup_identity "alice:alice-Pw-65aa01:gp-clinicians"
printf 'mwg-audit:x:%d:\nmwg-admin:x:%d:\n' "$READERS_GID" "$ADMINS_GID" >>"$T/group"
write_policy
write_conf "control-group mwg-admin
audit-control $ASOCK
audit-control-group mwg-audit"
start_backend echo "$ECHO_PORT"
start_mwgd
# The trail is readable by the reader group, as operations.md §3 sets it up.
chgrp "$READERS_GID" "$AUDIT"
chmod 0640 "$AUDIT"

as_reader() { setpriv --reuid="$READER" --regid="$READER" --groups="$READERS_GID" "$@"; }
as_admin() { setpriv --reuid="$ADMIN" --regid="$ADMIN" --groups="$ADMINS_GID" "$@"; }
# One raw request line on a socket: the answer line. Run as root, which
# passes the socket's permissions: what a request may do depends on the
# socket it reaches, whoever sends it.
ask() {	# socket json
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PY
}

expect_eq "$(stat -c '%U:%g %a' "$CTL")" "root:$ADMINS_GID 660" "control socket: root:mwg-admin 0660"
expect_eq "$(stat -c '%U:%g %a' "$ASOCK")" "root:$READERS_GID 660" "audit-control socket: root:mwg-audit 0660"

# Some traffic, so there are records to read and to count.
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT" $'hello\n'
read -r -t 5 line <&"$tout" || fail "no echo through the tunnel"
expect_eq "$line" hello "a tunnel carries bytes"
audit_wait '.["event.action"] == "tunnel.open"' 1	# it stays open: kill must not reach it
TID=$("$BIN/mwgctl" -s "$CTL" sessions --json | jq '.sessions[0].id')
[[ $TID =~ ^[0-9]+$ ]] || fail "no tunnel id in sessions: $TID"
# Checkpoints come on a timer (10 s): count every other record.
records() { audit_count '.["event.action"] != "audit.checkpoint"'; }
before=$(records)

# The reader: query and export, recorded with the reader's uid.
out=$(as_reader "$BIN/mwgctl" audit query -s "$ASOCK" --event tunnel. "$AUDIT")
expect_match "$out" "tunnel.open +success" "reader: audit query shows the records"
as_reader "$BIN/mwgctl" audit export -s "$ASOCK" --practice K84001 --format csv "$AUDIT" >"$T/export.csv"
expect_match "$(head -1 "$T/export.csv")" "^seq,@timestamp," "reader: audit export writes CSV"
audit_wait ".[\"event.action\"] == \"audit.export\" and .[\"user.id\"] == $READER" 1
expect_eq "$(audit_count ".[\"event.action\"] == \"audit.query\" and .[\"user.id\"] == $READER")" 1 \
    "reader: the query is recorded with the reader's uid"

# Without -s or MWG_CONTROL, query and export try the audit-control
# socket first, then the control socket (none answers at /run/mwg here).
if [ ! -e /run/mwg ]; then
	rc=0; err=$(as_reader env -u MWG_CONTROL "$BIN/mwgctl" audit query "$AUDIT" 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 1 "reader: no socket answers at the defaults: nothing shown"
	expect_match "$err" "mwgd at /run/mwg/audit-control: No such file or directory; mwgd at /run/mwg/control: No such file or directory" \
	    "reader: the defaults are tried audit-control first, then control"
fi

# Every other request the daemon knows, raw, on the audit-control socket
# (even from root).
refusal='not allowed on the audit-control socket: it only records audit queries and exports (use the control socket, as an administrator)'
n=0
for req in '{"cmd":"status"}' '{"cmd":"sessions"}' "{\"cmd\":\"kill\",\"id\":$TID}" '{"cmd":"reload"}' \
    '{"cmd":"retention"}' '{"cmd":"audit-note","action":"audit.prune","filter":{}}' \
    '{"cmd":"audit-note","filter":{}}' '{"cmd":"audit-note","action":["audit.query"]}' \
    '{"cmd":"totp-enrol","user":"alice"}' '{"cmd":"totp-import","entries":[]}' \
    '{"cmd":"lock","kind":"user","name":"alice","reason":"x"}' '{"cmd":"unlock","kind":"user","name":"alice"}' \
    '{"cmd":"lock-list"}' '{"cmd":"enrol-code-create","user":"alice","practice":"K84001"}' \
    '{"cmd":"device-list"}' '{"cmd":"device-revoke","id":"laptop-1","reason":"x"}' '{"cmd":"no-such"}' \
    '{"cmd":"enrol-code-list"}' '{"cmd":"enrol-code-withdraw","id":"abcdefghij"}' '{"cmd":"totp-list"}' \
    '{"cmd":"totp-remove","user":"alice"}' '{"cmd":"throttle-list"}' '{"cmd":"throttle-clear","target":"alice"}'; do
	ans=$(ask "$ASOCK" "$req")
	expect_eq "$(jq -r '[.ok, .error] | join(" ")' <<<"$ans")" "false $refusal" "reader refused: $req"
	n=$((n + 1))
done
# And through mwgctl: each verb that reaches the daemon fails with that reason.
for verb in status sessions "kill $TID" reload "device list" "device revoke laptop-1 --reason x" \
    "lock list" "lock user alice --reason x" "unlock user alice" "totp enrol alice" \
    "enrol-code create --user alice --practice K84001" "enrol-code list" "enrol-code withdraw abcdefghij" \
    "totp list" "totp remove alice" "throttle list" "throttle clear alice"; do
	rc=0
	# shellcheck disable=SC2086 # a verb is several words
	err=$(as_reader "$BIN/mwgctl" -s "$ASOCK" $verb 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 1 "reader: mwgctl $verb exits 1"
	[[ $err == *"not allowed on the audit-control socket"* ]] || fail "reader: mwgctl $verb: $err"
done
log "ok: $n raw requests and 17 mwgctl verbs refused on the audit-control socket"
# Nothing changed and nothing was recorded but the reader's two notes.
expect_match "$(as_admin "$BIN/mwgctl" -s "$CTL" sessions)" "laptop-1" "the tunnel the reader tried to kill is still open"
expect_eq "$(( $(records) - before ))" 2 "the refusals wrote no record (only audit.query and audit.export)"
expect_eq "$(audit_count '.["event.action"] | test("^(lock|totp|enrol|device|admin|policy|throttle)\\.")')" 0 \
    "no lock, TOTP, enrolment, device, kill or reload record"
expect_eq "$(grep -c "uid $READER on the audit-control socket asked for" "$T/mwgd.log")" 17 "mwgd logs each refusal with the uid"
expect_eq "$(grep -c "uid 0 on the audit-control socket asked for" "$T/mwgd.log")" "$n" "root's raw requests too"

# The admin socket refuses the reader at its permissions.
rc=0; err=$(as_reader "$BIN/mwgctl" -s "$CTL" status 2>&1) || rc=$?
expect_eq "$rc" 1 "reader: the control socket is out of reach"
expect_match "$err" "Permission denied" "reader: control socket says Permission denied"

# The administrator: everything on the control socket, not the reader's socket.
expect_match "$(as_admin "$BIN/mwgctl" -s "$CTL" status)" "tunnels_opened +1" "admin: status on the control socket"
# An administrator who also reads the trail (both groups) asks on the
# control socket, and is recorded with their own uid.
out=$(setpriv --reuid="$ADMIN" --regid="$ADMIN" --groups="$ADMINS_GID,$READERS_GID" \
    "$BIN/mwgctl" audit query -s "$CTL" --event audit. "$AUDIT")
expect_match "$out" "audit.export" "admin: audit query through the control socket"
audit_wait ".[\"event.action\"] == \"audit.query\" and .[\"user.id\"] == $ADMIN" 1
rc=0; as_admin "$BIN/mwgctl" -s "$ASOCK" status >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "admin: not in the reader group, the audit-control socket is out of reach"

# Readers cannot take the administrators' places: 65 connections held
# open on the audit-control socket fill its 64 and lose one, while the
# control socket still answers at once.
python3 - "$ASOCK" "$T/held" <<'PY' &
import socket, sys, time
held = []
for i in range(65):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
open(sys.argv[2], "w").write("65\n")
time.sleep(60)
PY
HOLDER=$!; PIDS+=($HOLDER)
for _ in $(seq 100); do
	grep -q "more than 64 clients at once on the audit-control socket" "$T/mwgd.log" && break
	sleep 0.05
done
grep -q "more than 64 clients at once on the audit-control socket" "$T/mwgd.log" ||
    fail "65 held connections did not fill the audit-control socket"
log "ok: the audit-control socket takes 64 clients at once"
expect_match "$(timeout 5 "$BIN/mwgctl" -s "$CTL" status)" "tunnels_opened +1" \
    "the control socket answers while the audit-control socket is full"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true

# A reload that moves audit-control waits for a restart, like control.
sed -i "s|^audit-control .*|audit-control $T/elsewhere.sock|" "$T/mwgd.conf"
expect_eq "$("$BIN/mwgctl" -s "$CTL" reload)" "reload: done" "reload with audit-control moved"
grep -q "take effect only after a restart: control" "$T/mwgd.log" || fail "moving audit-control did not say restart"
log "ok: moving audit-control takes effect only after a restart"
stop_mwgd

# Configuration errors.
printf 'audit-control-group mwg-audit\nlisten tls 127.0.0.1:1 { certificate a; key b; ca c }\n' >"$T/bad.conf"
rc=0; out=$("$BIN/mwgd" -n -f "$T/bad.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "audit-control-group without audit-control is refused"
expect_match "$out" "audit-control-group needs audit-control" "and says why"
