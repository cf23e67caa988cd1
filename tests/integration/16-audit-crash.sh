#!/usr/bin/env bash
# kill -9 during a flood of tunnels: afterwards the trail verifies, every
# tunnel a client saw opened has its tunnel.open record (it was durable
# before the first byte), and a torn last line is set aside and recorded.
. "$(dirname "$0")/common.sh"
setup_default
# The flood: 8 clients open tunnels one after another and write down the
# source port of each tunnel whose echoed byte came back (it was carried,
# so its record was durable before), until mwgd dies under them.
python3 - "$GW_PORT" "$ECHO_PORT" "$T" >"$T/flood.out" 2>&1 <<'PY' &
import socket, ssl, sys, threading, time
port, echo, t = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=t + "/ca/root.pem")
ctx.load_cert_chain(t + "/laptop-1.pem", t + "/laptop-1.key")
out, lock, stop = open(t + "/carried.ports", "w"), threading.Lock(), time.monotonic() + 6
def one():
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(("CONNECT echo.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n" % echo).encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        b = s.recv(1)
        if not b:
            raise EOFError("closed in the answer")
        head += b
    if not head.startswith(b"HTTP/1.1 200 "):
        raise EOFError(head.split(b"\r\n")[0])
    s.sendall(b"x")
    if s.recv(1) == b"x":
        with lock:
            out.write("%d\n" % s.getsockname()[1]); out.flush()
    s.close()
def run():
    while time.monotonic() < stop:
        try:
            one()
        except Exception:
            time.sleep(0.05)
ts = [threading.Thread(target=run) for _ in range(8)]
for th in ts: th.start()
for th in ts: th.join()
PY
flood=$!
for _ in $(seq 200); do [ "$(wc -l <"$T/carried.ports" 2>/dev/null || echo 0)" -ge 30 ] && break; sleep 0.05; done
kill -9 "$MWGD_PID"
proc_forget mwgd
MWGD_PID=
wait "$flood" || fail "the flood client failed: $(tail -3 "$T/flood.out")"
sort "$T/carried.ports" >"$T/carried.sorted"
ok=$(wc -l <"$T/carried.sorted")
[ "$ok" -ge 30 ] || fail "the flood carried too few tunnels ($ok)"
# Ports may be reused within a run: compare as multisets (comm).
jq -R 'fromjson? | select(.["event.action"]=="tunnel.open" and .["event.outcome"]=="success") | .["source.port"]' \
	"$AUDIT" | sort >"$T/recorded.sorted"
missing=$(comm -23 "$T/carried.sorted" "$T/recorded.sorted")
[ -z "$missing" ] || fail "tunnels that carried data have no tunnel.open record (source ports): $(echo $missing)"
log "ok: every one of $ok tunnels that carried data has its tunnel.open record (matched by source port) after kill -9"

# Simulate a torn write, then restart: it is set aside and recorded.
printf '{"seq":999999,"@timestamp":"torn' >>"$AUDIT"
start_mwgd
audit_wait '.["event.action"]=="audit.recover"' 1
[ -s "$AUDIT.torn" ] || fail "the torn line was not kept in $AUDIT.torn"
grep -q '"seq":999999' "$AUDIT.torn" || fail "$AUDIT.torn does not hold the torn bytes"
log "ok: torn line kept in audit.jsonl.torn and recorded"
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "serving after recovery"
stop_mwgd
out=$("$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT")
expect_match "$out" "^OK:" "the recovered trail verifies end to end"

# A missing audit key beside a file with records is refused, not replaced.
mv "$T/state/audit.key" "$T/state/audit.key.away"
rc=0; err=$("$BIN/mwgd" -f "$T/mwgd.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "mwgd refuses to start without its audit key"
expect_match "$err" "audit key .* is missing but .* already has records" "and says why"
