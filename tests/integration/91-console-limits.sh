#!/usr/bin/env bash
# The console's door: a login posted from another site is refused before
# mwgd is asked (login CSRF: Sec-Fetch-Site, else Origin, must be the
# console's own), and the listener holds at most 128 connections at once
# (CONSOLE_CONNS_MAX): the ones beyond are closed at once, and once some
# end a login works again; a request that does not arrive whole within
# 20 s (HTTP_WAIT_S) is closed, however it trickles in.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
CONNS_MAX=128
console_setup
start_console
totp_settle

# ---- login CSRF ----------------------------------------------------------
xlogin() {	# header... -> HTTP status of a login by carol with a fresh code
	ccurl -o "$T/x.html" -w '%{http_code}' "$@" --data-urlencode "user=carol" \
		--data-urlencode "password=$CAROL_PW" --data-urlencode "otp=$(console_code carol)" "$CONSOLE/login"
}
expect_eq "$(xlogin -H 'Origin: https://evil.example')" 403 "a login posted from another origin"
expect_match "$(cat "$T/x.html")" "did not come from the console&#39;s own page" "the refusal says why"
expect_eq "$(xlogin -H 'Origin: null')" 403 "a login from an opaque origin (Origin: null)"
expect_eq "$(xlogin -H "Origin: http://127.0.0.1:$CONSOLE_PORT")" 403 "a login from the same host over plain http"
expect_eq "$(xlogin -H 'Sec-Fetch-Site: cross-site')" 403 "Sec-Fetch-Site: cross-site"
expect_eq "$(xlogin -H 'Sec-Fetch-Site: same-site' -H "Origin: https://127.0.0.1:$CONSOLE_PORT")" 403 "Sec-Fetch-Site: same-site (a sibling host) even with our Origin"
expect_eq "$(audit_count '.["event.action"]=="console.login"')" 0 "no refused login reached mwgd (no code spent, no throttle count)"
expect_match "$(cat "$T/console.log")" 'a login posted from another site refused \(browser 127\.0\.0\.1\)' "the console logs the refusal"
expect_eq "$(xlogin -H 'Sec-Fetch-Site: same-origin' -H "Origin: https://127.0.0.1:$CONSOLE_PORT")" 303 "a login from the console's own page"
log "ok: cross-site logins refused; the console's own form works"

# ---- the connection cap --------------------------------------------------
# The logins' connections must have ended on the console's side first (no
# socket of its port left established or in close-wait), so the count
# starts from 0.
for _ in $(seq 100); do
	[ -z "$(ss -Htn state established state close-wait "( sport = :$CONSOLE_PORT )")" ] && break
	sleep 0.05
done
[ -z "$(ss -Htn state established state close-wait "( sport = :$CONSOLE_PORT )")" ] ||
	fail "the console still holds connections: $(ss -Htn "( sport = :$CONSOLE_PORT )")"
# Opens CONNS_MAX+10 idle TCP connections; writes which the console closed
# to $T/conns, then closes the first 20 and holds the rest until killed.
python3 - "$CONSOLE_PORT" $((CONNS_MAX + 10)) "$CONNS_MAX" "$T/conns" <<'PY' &
import os, select, socket, sys, time
port, n, cap, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
closed = set()
def poll(wait):
    live = [s for i, s in enumerate(socks) if i not in closed]
    r, _, _ = select.select(live, [], [], wait)
    for s in r:
        try:
            d = s.recv(1)
        except ConnectionResetError:
            d = b""
        if d == b"":
            closed.add(socks.index(s))
deadline = time.time() + 10
while len(closed) < n - cap and time.time() < deadline:
    poll(0.2)
end = time.time() + 1		# none of the held ones may close meanwhile
while time.time() < end:
    poll(0.1)
with open(out + ".tmp", "w") as f:
    f.write("closed=%d %s\n" % (len(closed), ",".join(map(str, sorted(closed)))))
for s in socks[:20]:
    s.close()
os.rename(out + ".tmp", out)
time.sleep(120)
PY
HOLDER=$!
PIDS+=("$HOLDER")
for _ in $(seq 300); do [ -s "$T/conns" ] && break; sleep 0.05; done
expect_eq "$(cat "$T/conns")" "closed=10 $(seq -s, $CONNS_MAX $((CONNS_MAX + 9)))" "of $((CONNS_MAX + 10)) idle connections the last 10 are closed at once, $CONNS_MAX are held"
expect_match "$(cat "$T/console.log")" "console: $CONNS_MAX connections open; closing new ones until one ends" "the console logs the cap"
wait_for_line "$T/console.log" 'console: accepting connections again' || fail "the console did not accept again after 20 connections ended"
expect_eq "$(console_login dave "$DAVE_PW" "$(console_code dave)")" 303 "a login works while $((CONNS_MAX - 20)) idle connections are held"
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' "$CONSOLE/tunnels")" 200 "and its session is served"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
log "ok: at most $CONNS_MAX connections; the rest closed; the console serves again when some end"

# ---- a request must arrive whole within 20 s (HTTP_WAIT_S) ---------------
# evhttp's 30 s timeout is per read; a header trickled a line a second
# would hold a connection (and, 128 times, the console) for ever.
# Two at once: one trickles from the start, one after a whole request
# and its answer (the wait begins again with each answer).
took=$(python3 - "$CONSOLE_PORT" <<'PY'
import socket, ssl, sys, threading, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
port = int(sys.argv[1])
took = {}
def trickle(name, first):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    if first:
        s.send(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while b"</html>" not in got:
            got += s.recv(65536)
    t = time.time()
    s.send(b"GET /login HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(1)
    while time.time() - t < 60:
        try:
            s.send(b"X-Slow: y\r\n")
            if s.recv(1) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    took[name] = int(time.time() - t)
th = [threading.Thread(target=trickle, args=(n, f)) for n, f in (("start", 0), ("after-answer", 1))]
[t.start() for t in th]
[t.join() for t in th]
print("%d %d" % (took["start"], took["after-answer"]))
PY
)
for t in $took; do
	[ "$t" -ge 19 ] && [ "$t" -lt 29 ] || fail "trickled requests were closed after $took s, not 20 s"
done
log "ok: trickled requests are closed after $took s (from the accept; after an answer)"
stop_console
log "PASS"
