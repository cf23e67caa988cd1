#!/usr/bin/env bash
# mwg connect serves only the OS user who started it. On a shared PC
# another local user (here `nobody`, through setpriv) connecting to the
# loopback port (IPv4 and IPv6) is refused before a byte moves: nothing
# reaches the gateway, and mwg says which uid it refused. The owner's
# connections work. The Unix-socket listener is made 0600 in a directory
# only the owner can write; a peer of another uid that reaches it anyway
# is refused by its SO_PEERCRED.
. "$(dirname "$0")/common.sh"
make_ca
enrol_device laptop-1 alice
write_policy
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd

# A state directory as mwg enrol and mwg login leave it.
D=$T/mwg
mkdir -m 700 "$D"
printf '%s\n' "$GW" >"$D/gateway"
cp "$T/ca/root.pem" "$D/ca.pem"
install -m 600 "$T/laptop-1.key" "$D/device.key"
cp "$T/laptop-1.pem" "$D/device.pem"
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-1 --key "$T/laptop-1.key" \
	--user alice --group gp-clinicians --out "$D/session"
LPORT=$((BASE + 10))
LPORT6=$((BASE + 11))
OWNER="uid $(id -u) ($(id -un))"

# Waits (5 s) for mwg connect's "forwarding" line; fails with its stderr.
wait_forwarding() {	# stdout-file stderr-file
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail "mwg connect did not start: $(cat "$2")"
}
# As uid 65534: connect and print what comes back (or the error). It sends
# nothing itself, so the refusal is a plain close (FIN, not a reset for
# unread bytes) and the outcome is always the same.
as_nobody() {	# python-address-family host port
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$@" <<'PY'
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
    print("got %r" % s.recv(100))
except OSError as e:
    print("error %s" % e.__class__.__name__)
PY
}
# As the owner: one line through the tunnel and back.
as_owner() {	# host port
	python3 - "$@" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"from-owner\n")
s.shutdown(socket.SHUT_WR)
print(s.recv(100).decode().strip())
PY
}
tunnels() { audit_count '.["event.action"]=="tunnel.open" or .["event.action"]=="tunnel.deny"'; }

"$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" \
	>"$T/c4.out" 2>"$T/c4.err" &
PIDS+=($!)
"$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "[::1]:$LPORT6" \
	>"$T/c6.out" 2>"$T/c6.err" &
PIDS+=($!)
wait_forwarding "$T/c4.out" "$T/c4.err"
wait_forwarding "$T/c6.out" "$T/c6.err"

expect_eq "$(as_owner 127.0.0.1 "$LPORT")" from-owner "the owner's connection is carried"
audit_wait '.["event.action"]=="tunnel.close"' 1
before=$(tunnels)

r=$(as_nobody 4 127.0.0.1 "$LPORT")
expect_eq "$r" "got b''" "another user's connection is closed with nothing sent back"
expect_eq "$(grep -c 'refused a local connection' "$T/c4.err")" 1 "one line for the refusal"
expect_eq "$(grep 'refused a local connection' "$T/c4.err" | sed 's/127\.0\.0\.1:[0-9]*/ADDR/')" \
	"mwg: connect: refused a local connection from ADDR of uid 65534 (nobody): only $OWNER may use this tunnel" \
	"mwg says which uid it refused, and whom it serves"
r=$(as_nobody 6 ::1 "$LPORT6")
expect_eq "$r" "got b''" "... and over IPv6 loopback"
expect_eq "$(grep 'refused a local connection' "$T/c6.err" | sed 's/\[::1\]:[0-9]*/ADDR/')" \
	"mwg: connect: refused a local connection from ADDR of uid 65534 (nobody): only $OWNER may use this tunnel" \
	"IPv6: the refusal names the uid"
expect_eq "$(as_owner 127.0.0.1 "$LPORT")" from-owner "the owner still gets through after a refusal"
expect_eq "$(as_owner ::1 "$LPORT6")" from-owner "... over IPv6 too"
# Nothing of the refused ones reached the gateway: the owner's two
# tunnels are the only CONNECTs since.
audit_wait '.["event.action"]=="tunnel.close"' 3
expect_eq "$(tunnels)" "$((before + 2))" "no CONNECT was made for the refused connections"

# ---- the Unix socket -------------------------------------------------------
# (timeout: a broken check would leave mwg listening, not hang the test)
rc=0; err=$(timeout 10 "$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "unix:/tmp/mwg-$NUM.sock" 2>&1) || rc=$?
expect_eq "$rc" 1 "a socket in a directory others can write is refused"
expect_eq "$err" "mwg: connect: cannot listen on unix:/tmp/mwg-$NUM.sock: the directory /tmp must be yours and writable by no one else (chmod 700 /tmp)" "... with the reason"
mkdir -m 700 "$T/run"
SOCK=$T/run/emis.sock
"$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "unix:$SOCK" >"$T/cu.out" 2>"$T/cu.err" &
CU=$!; PIDS+=($CU)
wait_forwarding "$T/cu.out" "$T/cu.err"
expect_match "$(cat "$T/cu.out")" "^mwg: forwarding unix:$SOCK to echo.K84001:$ECHO_PORT through $GW" "listening on the Unix socket"
expect_eq "$(stat -c '%a %U %F' "$SOCK")" "600 $(id -un) socket" "the socket is 0600 and the owner's"
r=$(python3 -c "
import socket; s=socket.socket(socket.AF_UNIX); s.connect('$SOCK'); s.sendall(b'over-unix\n'); s.shutdown(socket.SHUT_WR); print(s.recv(100).decode().strip())")
expect_eq "$r" over-unix "the owner's connection over the Unix socket is carried"
# Even if the socket's mode were widened, another uid is refused.
chmod 755 "$T/run"; chmod 666 "$SOCK"
r=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "
import socket; s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect('$SOCK'); print(repr(s.recv(100)))")
expect_eq "$r" "b''" "another uid on the Unix socket gets nothing"
expect_eq "$(grep 'refused a local connection' "$T/cu.err")" \
	"mwg: connect: refused a local connection from the Unix socket of uid 65534 (nobody): only $OWNER may use this tunnel" \
	"the Unix socket refusal names the uid"
chmod 700 "$T/run"
# A socket left behind by an mwg that ended is replaced at the next start.
kill "$CU"; wait "$CU" 2>/dev/null || true
[ -S "$SOCK" ] || fail "the socket went away with mwg (expected left behind)"
"$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "unix:$SOCK" >"$T/cu2.out" 2>"$T/cu2.err" &
PIDS+=($!)
wait_forwarding "$T/cu2.out" "$T/cu2.err"
expect_match "$(cat "$T/cu2.out")" "^mwg: forwarding unix:$SOCK" "a stale socket is replaced"
rc=0; err=$(timeout 10 "$BIN/mwg" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "unix:$SOCK" 2>&1) || rc=$?
expect_eq "$rc" 1 "a socket in use is not taken over"
expect_eq "$err" "mwg: connect: cannot listen on unix:$SOCK: Address already in use" "... and says so"
stop_mwgd
