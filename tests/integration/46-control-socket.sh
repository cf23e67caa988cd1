#!/usr/bin/env bash
# The control socket on its own, against a real mwgd: malformed, unknown,
# oversized (> 64 KiB) and slow requests each get their answer (or are
# closed) and leave the daemon serving; at most 64 clients at once; and
# mwgctl totp import stores all of a batch or none of it.
. "$(dirname "$0")/common.sh"
setup_default
answer() { ctl_raw | sed -n 1p; }

expect_eq "$(printf '{"cmd":\n' | answer)" \
	'{"ok":false,"error":"bad request: unexpected token near end of file"}' "malformed JSON: the parser's reason"
expect_eq "$(printf '[1,2]\n' | answer)" '{"ok":false,"error":"bad request: no \"cmd\""}' "not an object"
expect_eq "$(printf '{"cmd":7}\n' | answer)" '{"ok":false,"error":"bad request: no \"cmd\""}' "cmd not a string"
expect_eq "$(printf '{"cmd":"frobnicate"}\n' | answer)" '{"ok":false,"error":"unknown command '"'"'frobnicate'"'"'"}' "unknown command named"
long=$(head -c 200 /dev/zero | tr '\0' x)
expect_eq "$(printf '{"cmd":"%s"}\n' "$long" | answer)" \
	"{\"ok\":false,\"error\":\"unknown command '${long:0:64}'\"}" "an unknown command is quoted to 64 bytes"
expect_eq "$(printf '{"cmd":"lock","kind":"user","name":"../etc","reason":"x"}\n' | answer)" \
	'{"ok":false,"error":"give kind user or device and a valid name"}' "mwgd checks names itself, not only mwgctl"
expect_eq "$(printf '{"cmd":"audit-note","action":"tunnel.open"}\n' | answer)" \
	'{"ok":false,"error":"audit-note: action must be audit.query, audit.export or audit.prune"}' "audit-note cannot forge other records"
expect_eq "$(audit_count '.["event.action"]=="lock.add" or (.["event.action"]=="tunnel.open" and .["user.id"]!=null)')" 0 "refused requests wrote nothing"

# Over 64 KiB without a line end: closed at once, nothing answered.
out=$(head -c 70000 /dev/zero | tr '\0' ' ' | ctl_raw)
expect_eq "$(head -1 <<<"$out" | cut -c1-6)" "closed" "an oversized request gets no answer"
ms=$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' <<<"$out")
[ "$ms" -lt 2000 ] || fail "oversized request closed after $ms ms, expected at once"
log "ok: oversized request closed after $ms ms"
# Exactly 64 KiB with its line end is still a request.
pad=$(head -c $((65536 - 32)) /dev/zero | tr '\0' ' ')
expect_eq "$(printf '{"cmd":"status"%s}\n' "$pad" | answer | jq -r .ok)" true "a 64 KiB request is served"

# A slow client (half a request, then silence) is closed at the 10 s
# control timeout, and others are served meanwhile.
python3 - "$CTL" >"$T/slow.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.sendall(b'{"cmd":"sta')
s.settimeout(20)
got = s.recv(100)
print(repr(got))
print("closed after %d ms" % ((time.monotonic() - t0) * 1000))
PY
slow_client=$!
for _ in $(seq 50); do
	[ "$("$BIN/mwgctl" -s "$CTL" status --json | jq .ok)" = true ] && break
	sleep 0.1
done
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .ok)" true "served while a slow client waits"
wait "$slow_client"
ms=$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' "$T/slow.out")
expect_eq "$(head -1 "$T/slow.out")" "b''" "the slow client got no answer"
[ "$ms" -ge 9500 ] && [ "$ms" -le 12000 ] || fail "slow client closed after $ms ms, expected 10 s"
log "ok: slow client closed after $ms ms"

# 64 clients at once; the 65th is closed at accept and logged.
python3 - "$CTL" <<'PY' >"$T/many.out"
import socket, sys, time
held = []
for i in range(64):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    held.append(s)
time.sleep(0.3)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(5)
# The gateway closes the 65th at accept: the send itself may meet that
# close (EPIPE) as well as the read (EOF or a reset). Each means closed
# unanswered; a timeout or an answer does not.
try:
    s.sendall(b'{"cmd":"status"}\n')
    print("65th:", repr(s.recv(100)))
except (socket.timeout, ConnectionResetError, BrokenPipeError) as e:
    print("65th:", type(e).__name__)
for h in held:
    h.close()
PY
expect_match "$(cat "$T/many.out")" "^65th: (b''|ConnectionResetError|BrokenPipeError)$" "the 65th client is closed unanswered"
for _ in $(seq 50); do grep -q "control: more than 64 clients at once on the control socket; refusing one" "$T/mwgd.log" && break; sleep 0.1; done
grep -q "control: more than 64 clients at once on the control socket; refusing one" "$T/mwgd.log" || fail "no log line for the refused client"
log "ok: the refusal is logged"
for _ in $(seq 50); do
	[ "$("$BIN/mwgctl" -s "$CTL" status --json 2>/dev/null | jq .ok)" = true ] && break
	sleep 0.1
done
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .ok)" true "served again once they go"

# totp import through mwgctl against the daemon: stored (enrol then says
# it replaced a secret), and a batch with one bad entry stores none.
had() { "$BIN/mwgctl" -s "$CTL" totp enrol "$1" --json | jq -r .replaced; }
out=$("$BIN/mwgctl" -s "$CTL" totp import tests/fixtures/pam_oath/good.users)
expect_match "$out" "^imported [0-9]+ " "totp import through the daemon"
expect_eq "$(had bob)" true "an imported secret is in mwgd's store"
expect_eq "$(audit_count '.["event.action"]=="totp.import" and .["user.name"]=="bob"')" 1 "the import is audited per person"
expect_eq "$(printf '{"cmd":"totp-import","entries":[{"user":"carol","secret_hex":"3132333435363738393031323334353637383930","digits":6,"period":30},{"user":"dave","secret_hex":"31","digits":6,"period":30}]}\n' | answer)" \
	'{"ok":false,"error":"entry 2 is not valid"}' "a batch with a bad second entry is refused"
expect_eq "$(had carol)" false "and its good first entry was not stored"
{
	for i in $(seq 250); do printf 'HOTP/T30 user%03d - 3132333435363738393031323334353637383930\n' "$i"; done
	printf 'HOTP/T30 user251 - 31\n'
} >"$T/many.users"
rc=0; err=$("$BIN/mwgctl" -s "$CTL" totp import "$T/many.users" 2>&1) || rc=$?
expect_eq "$rc" 1 "a file with one bad entry past the first batch is refused"
expect_match "$err" "many.users:251: the secret for user251 is 2 hex digits.*mwgctl: totp import: 1 error in .*many.users; nothing was imported$" "and mwgctl names the line and says nothing was stored"
expect_eq "$(had user001)" false "no entry of the first batch was stored"
stop_mwgd
