#!/usr/bin/env bash
# Two gateway nodes with the real parts, all on 127.0.0.0/8: a throwaway
# PostgreSQL cluster as the shared store, mwgd gw-a on 127.0.0.2 and gw-b on
# 127.0.0.3 (same CA, policy and secrets.key; each its own state-dir, audit
# key and chain, control socket), HAProxy on 127.0.0.1 from
# deploy/haproxy.cfg with PROXY v2 in front of both (issue 15, item 8).
# It shows: an enrolment code used through the front is refused when used
# again on the other node; a TOTP code used on one node is refused on the
# other; a lock made on gw-a closes a tunnel held on gw-b within 1 s, and an
# unlock made on gw-b lets the person in on gw-a again; kill -9 of a node:
# new connections through HAProxy reach the other node within 5 s and a
# running mwg connect serves a new connection without a restart; a database
# outage leaves an open tunnel carrying bytes, makes a login 503
# database-unavailable (audited), past not-ready-after makes /health 503
# while CONNECTs are still decided from memory, and after the database
# returns each node reloads its state (state.reload), is ready again and
# logins work; a logout and a revocation made on gw-a cut gw-b's tunnel,
# make gw-b refuse the device and list it in gw-b's CRL (state.sync);
# both nodes' trails verify and hold every record.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/nodes-common.sh"
. "$(dirname "$0")/../tools/pg-cluster.sh"
# Without PostgreSQL or HAProxy there is nothing to run; under CI=true
# that is a failure (skip fails there), as in store_pg_test.
pg_cluster_bindir >/dev/null 2>&1 || skip "no PostgreSQL server (deploy/deps.sh test installs postgresql)"
command -v haproxy >/dev/null || skip "no haproxy (deploy/deps.sh test installs it)"
. "$(dirname "$0")/haproxy-common.sh"

MWG=$BIN/mwg
ALICE_PW=alice-Pw-57e3b9
PG_PORT=$((BASE + 12))
PG_USER=mwgtest
LPORT=$((BASE + 13))		# mwg connect's local port
declare -A OTHER=([a]=b [b]=a)
# HAProxy reaches the nodes from 127.0.0.9, the one address their
# proxy-protocol from lists: a client on 127.0.0.1 may still talk to a
# node directly (without a header), as an administrator would.
HAP_SOURCE=127.0.0.9
HAP_NODE_A=${ADDR[a]}:$GW_PORT
HAP_NODE_B=${ADDR[b]}:$GW_PORT
CTL=$T/a.sock			# enrol_totp and enrol_code_create ask gw-a

dump_logs() {
	local n f
	for n in a b; do
		for f in "$T"/mwgd-"$n"*.log; do
			[ -f "$f" ] && { echo "--- $(basename "$f")"; tail -15 "$f"; } >&2
		done
		[ -f "$T/log-$n/audit.jsonl" ] && { echo "--- audit of gw-$n"; tail -8 "$T/log-$n/audit.jsonl"; } >&2
	done
	[ -f "$T/pg/log" ] && { echo "--- postgresql"; tail -5 "$T/pg/log"; } >&2
	return 0
}

# ---- the parts ----------------------------------------------------------------
"$BIN/mwgctl" ca init --dir "$T/ca" --host 127.0.0.1 --host 127.0.0.2 --host 127.0.0.3 \
	--host localhost >/dev/null
chmod 755 "$T/ca"
chgrp nogroup "$T/ca/server.key" 2>/dev/null || true
chmod 640 "$T/ca/server.key"
setup_identity "alice:$ALICE_PW:gp-clinicians"
write_policy
start_backend http "$HTTP_PORT"
start_backend echo "$ECHO_PORT"

mkdir "$T/pg"
pg_cluster_init "$T/pg" "$PG_USER" || fail "initdb failed"
pg_cluster_start "$T/pg" "$PG_PORT" || fail "PostgreSQL did not start on port $PG_PORT"
AT_EXIT+=("pg_cluster_stop '$T/pg' immediate")

node_of() {	# jq condition: the node whose trail has a record matching it
	local n
	for n in a b; do
		[ "$(on "$n" audit_count "$1")" -gt 0 ] && { echo "$n"; return 0; }
	done
	fail "no node recorded $1"
}

NODE_TOP="store {
    postgres \"host=127.0.0.1 port=$PG_PORT user=$PG_USER dbname=postgres\"
    not-ready-after 5s
}"
NODE_TLS="proxy-protocol from $HAP_SOURCE/32"
node_conf a
node_conf b
start_node a
# The first node made secrets.key and recorded its id in the database;
# every node needs the same one (docs/operations.md §3).
cp -p "$T/state-a/secrets.key" "$T/state-b/secrets.key"
start_node b
hap_start
hap_wait_status mwg_tls_nodes node-a UP >/dev/null
hap_wait_status mwg_tls_nodes node-b UP >/dev/null
log "ok: HAProxy's checks (from $HAP_SOURCE, PROXY LOCAL) find both nodes up"
enrol_totp alice

# ---- 1. an enrolment code works once across the nodes -------------------------
# A device as mwg enrol leaves it, for the gateway gw (the front or a node).
dev_dir() {	# dir gw
	mkdir -m 700 "$1"
	printf '%s\n' "$2" >"$1/gateway"
	cp "$D/ca.pem" "$D/cacerts.pem" "$D/device.pem" "$1/"
	install -m 600 "$D/device.key" "$1/device.key"
}
D=$T/mwg
code=$(enrol_code_create --user alice --practice K84001)
out=$("$MWG" enrol --dir "$D" --gateway "$HAP" --ca "$T/ca/root.pem" --code "$code" | grep '^enrolled ' || true)
expect_match "$out" "^enrolled this device as dev-[a-z2-7]+ with the gateway $HAP$" "mwg enrol through HAProxy"
DEV=$(awk '{print $5}' <<<"$out")
ISSUER=$(node_of '.["event.action"]=="enrol.issue"')
expect_eq "$(on "$ISSUER" audit_select '.["event.action"]=="enrol.issue"' | jq -r '[.["device.id"], .["source.ip"]]|join(" ")')" \
	"$DEV 127.0.0.1" "gw-$ISSUER enrolled it, seeing the client's address from the PROXY header"
N2=${OTHER[$ISSUER]}
rc=0; err=$("$MWG" enrol --dir "$T/mwg-again" --gateway "${ADDR[$N2]}:$GW_PORT" --ca "$T/ca/root.pem" \
	--code "$code" 2>&1 >/dev/null) || rc=$?
expect_eq "$rc:$err" "1:mwg: enrol: the enrolment code is not valid (401)" \
	"the same code straight to the other node, gw-$N2: refused"
on "$N2" audit_wait '.["event.action"]=="enrol.request" and .["event.outcome"]=="failure"' 1
expect_eq "$(on "$N2" audit_select '.["event.action"]=="enrol.request" and .["event.outcome"]=="failure"' | jq -r '.["event.reason"]')" \
	"enrolment code refused: used" "gw-$N2's record: the code was used"
[ ! -e "$T/mwg-again/device.pem" ] || fail "the refused enrolment wrote a certificate"

# ---- 2. a TOTP code is accepted once across the nodes -------------------------
# The device as files for gw_login, and as a state dir per node.
cp "$D/device.pem" "$T/dev.pem"
cp "$D/device.key" "$T/dev.key"
dev_dir "$T/mwg-a" "${ADDR[a]}:$GW_PORT"
# totp_at STEP: the code of that time step (mwgd takes the step before
# and after the current one too).
totp_at() { oathtool --totp -b "$TOTP_B32" -N "@$(( $1 * 30 ))"; }
STEP=$(( $(date +%s) / 30 ))	# the newest step a login used
otp=$(totp_at "$STEP")
out=$(printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$T/mwg-a" --user alice --password-file - --otp "$otp")
expect_match "$out" "logged in as alice on device $DEV" "mwg login on gw-a"
on a audit_wait '.["event.action"]=="auth.login" and .["event.outcome"]=="success"' 1
r=$(GW=${ADDR[b]}:$GW_PORT gw_login dev alice "$ALICE_PW" "$otp")
expect_eq "$(tail -1 <<<"$r")" 401 "the same code on gw-b: 401"
on b audit_wait '.["event.action"]=="auth.login"' 1
expect_eq "$(on b audit_select '.["event.action"]=="auth.login"' | jq -r '[.["event.outcome"], .["user.name"], .["event.reason"]]|join(" / ")')" \
	"failure / alice / code already used" "gw-b's record: the code was already used"
# The session, for mwg connect (through the front) and for raw clients.
cp "$T/mwg-a/session.pem" "$T/mwg-a/session.json" "$D/"
cp "$T/mwg-a/session.pem" "$T/sess.pem"
cp "$D/device.key" "$T/sess.key"

# ---- a tunnel held by a client, driven line by line ---------------------------
# tun.py HOST PORT TARGET: a CONNECT tunnel with the session certificate;
# prints the answer's status line, then obeys lines on stdin:
#   echo N      sends N bytes, 16 KiB at a time, reads each back:
#               "echoed N same" when every byte came back as sent
#   cut JSON    runs the command (a JSON array), then waits up to 3 s for
#               the gateway to close the tunnel: "exit RC", then
#               "closed after MS ms" (from the command's start, so the
#               command's own time counts) or "open"
#   end         closes the tunnel and exits
cat >"$T/tun.py" <<'PY'
import json, socket, ssl, subprocess, sys, time
host, port, target, t = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=t + "/ca/root.pem")
ctx.load_cert_chain(t + "/sess.pem", t + "/sess.key")
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=10),
                    server_hostname=host)
s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
head = b""
while not head.endswith(b"\r\n\r\n"):
    b = s.recv(1)
    if not b:
        break
    head += b
print(head.split(b"\r\n")[0].decode("ascii", "replace"), flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "echo":
        data = bytes((i * 7 + 3) % 251 for i in range(int(arg)))
        got = bytearray()
        try:
            for off in range(0, len(data), 16384):
                s.sendall(data[off:off + 16384])
                want = min(off + 16384, len(data))
                while len(got) < want:
                    b = s.recv(want - len(got))
                    if not b:
                        raise EOFError
                    got += b
        except (EOFError, OSError):
            pass
        print("echoed %d %s" % (len(got), "same" if got == data else "differ"), flush=True)
    elif cmd == "cut":
        t0 = time.monotonic()
        rc = subprocess.run(json.loads(arg), stdout=subprocess.DEVNULL).returncode
        print("exit %d" % rc, flush=True)
        s.settimeout(3)
        try:
            while s.recv(4096):
                pass
            print("closed after %d ms" % ((time.monotonic() - t0) * 1000), flush=True)
        except socket.timeout:
            print("open", flush=True)
        except (ConnectionResetError, ssl.SSLError):
            print("closed after %d ms" % ((time.monotonic() - t0) * 1000), flush=True)
    elif cmd == "end":
        break
PY
tun_open() {	# host port target: the coprocess TUN, its status line checked
	local line
	coproc TUN { exec python3 "$T/tun.py" "$1" "$2" "$3" "$T"; }
	PIDS+=("$TUN_PID")
	exec {tin}>&"${TUN[1]}" {tout}<&"${TUN[0]}"
	read -r -t 15 line <&"$tout" || fail "no answer to CONNECT $3 via $1:$2"
	expect_eq "$line" "HTTP/1.1 200 Connection established" "a tunnel to $3 via $1:$2"
}
tun_say() {	# command: its answer line
	local line
	printf '%s\n' "$1" >&"$tin"
	read -r -t 15 line <&"$tout" || fail "the tunnel client gave no answer to '$1'"
	printf '%s\n' "$line"
}
tun_end() {
	printf 'end\n' >&"$tin"
	exec {tin}>&- {tout}<&-
	wait "$TUN_PID" 2>/dev/null || true
}
# A CONNECT with the session certificate to gw (a node or the front);
# prints the proxy's status code (000: no answer).
connect_code() {	# gw path
	GW=$1 gw_curl sess --max-time 5 -o /dev/null -w '%{http_connect}' \
		"http://emis.K84001:$HTTP_PORT/$2" 2>/dev/null || true
}
# Polls connect_code until a 200 or LIMIT ms after t0; sets code and ms.
connect_poll() {	# gw path limit-ms
	while :; do
		code=$(connect_code "$1" "$2")
		ms=$(( $(date +%s%3N) - t0 ))
		[ "$code" = 200 ] || [ "$ms" -gt "$3" ] && break
		sleep 0.05
	done
}
OPENS=0		# tunnels the clients here saw opened, on both nodes

# ---- 3. a lock on gw-a cuts gw-b's tunnel; an unlock on gw-b frees gw-a --------
tun_open "${ADDR[b]}" "$GW_PORT" "echo.K84001:$ECHO_PORT"
OPENS=$((OPENS + 1))
expect_eq "$(tun_say 'echo 1000')" "echoed 1000 same" "the tunnel on gw-b carries bytes"
expect_eq "$(tun_say "cut $(jq -nc --arg s "$T/a.sock" --arg m "$BIN/mwgctl" \
	'[$m, "-s", $s, "lock", "user", "alice", "--reason", "left the practice"]')")" \
	"exit 0" "mwgctl -s gw-a lock user alice"
read -r -t 10 line <&"$tout" || fail "the tunnel client did not report"
tun_end
[[ "$line" =~ ^closed\ after\ ([0-9]+)\ ms$ ]] ||
	fail "gw-b's tunnel was still open 3 s after the lock on gw-a ($line)"
ms=${BASH_REMATCH[1]}
log "lock on gw-a to the close of gw-b's tunnel: $ms ms"
[ "$ms" -le 1000 ] || fail "gw-b's tunnel closed $ms ms after the lock on gw-a, not within 1 s"
log "ok: a lock on gw-a closed gw-b's tunnel within 1 s"
on a audit_wait '.["event.action"]=="lock.add" and .["user.name"]=="alice"' 1
on b audit_wait '.["event.action"]=="tunnel.close"' 1
expect_eq "$(on b audit_select '.["event.action"]=="tunnel.close"' | jq -r '[.["user.name"], .["event.reason"]]|join(" ")')" \
	"alice user-locked" "gw-b's tunnel.close: reason user-locked"
on b audit_wait '.["event.action"]=="state.sync"' 1
expect_eq "$(on b audit_select '.["event.action"]=="state.sync"' | jq -r '[.["mwg.change"], .["user.name"], .["event.reason"], .["tunnels.closed"]]|join(" / ")')" \
	"lock / alice / left the practice / 1" "gw-b's state.sync: the lock made on gw-a, one tunnel closed"
expect_eq "$(on a audit_count '.["event.action"]=="state.sync"')" 0 "gw-a does not sync its own change"

"$BIN/mwgctl" -s "$T/b.sock" unlock user alice >/dev/null || fail "mwgctl -s gw-b unlock user alice failed"
t0=$(date +%s%3N)
on b audit_wait '.["event.action"]=="lock.remove" and .["user.name"]=="alice"' 1
# The unlock reaches gw-a within a second: poll its answer to a CONNECT.
connect_poll "${ADDR[a]}:$GW_PORT" unlocked 3000
expect_eq "$code" 200 "after an unlock on gw-b, a CONNECT on gw-a"
OPENS=$((OPENS + 1))
log "unlock on gw-b to a CONNECT served on gw-a: $ms ms"
[ "$ms" -le 1000 ] || fail "gw-a let alice in $ms ms after the unlock on gw-b, not within 1 s"

# ---- 4. kill -9 of a node ---------------------------------------------------
"$MWG" connect --dir "$D" "echo.K84001:$ECHO_PORT" --listen "127.0.0.1:$LPORT" \
	>"$T/connect.out" 2>"$T/connect.err" &
# mwg connect has no SIGTERM handler: it ends by the signal (143).
proc_track connect $! 143 "$T/connect.err"
for _ in $(seq 100); do [ -s "$T/connect.out" ] && break; sleep 0.05; done
[ -s "$T/connect.out" ] || fail "mwg connect did not start: $(cat "$T/connect.err")"
# One connection through mwg connect (its reply back), then the local
# connection closes.
via_connect() {	# word: what came back
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(sys.argv[2].encode() + b"\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b:
        break
    got += b
print(got.decode("ascii", "replace").strip())' "$LPORT" "$1" 2>/dev/null || true
}
echo_opens() {	# a|b: the node's tunnel.open records to echo
	on "$1" audit_count '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success" and .["destination.address"]=="echo.K84001"'
}
na=$(echo_opens a)
expect_eq "$(via_connect before)" before "mwg connect through HAProxy carries a connection"
OPENS=$((OPENS + 1))
# The node that served it is the one to kill: mwg connect's TLS session
# (resumption) is that node's.
if [ "$(echo_opens a)" -gt "$na" ]; then VICTIM=a; else VICTIM=b; fi
SURV=${OTHER[$VICTIM]}
on "$VICTIM" audit_wait '.["event.action"]=="tunnel.close" and .["destination.address"]=="echo.K84001" and .["device.id"]=="'"$DEV"'"' \
	"$(echo_opens "$VICTIM")"
NET=$(pgrep -P "${PID[$VICTIM]}" -f -- '--network-process' || true)
[ -n "$NET" ] || fail "no network process under gw-$VICTIM's monitor"
kill -9 "${PID[$VICTIM]}"
t0=$(date +%s%3N)
# Killed on purpose: not judged by its status, but its log (to the kill)
# must still hold no sanitizer report.
proc_forget "mwgd-$VICTIM"
! grep -Eaq "$SANITIZER_RE" "$T/mwgd-$VICTIM.log" || fail "gw-$VICTIM's log has a sanitizer report"
# Running, not a zombie waiting for init to reap it.
running() { grep -Eq '^State:[[:space:]]+[^Z]' "/proc/$1/status" 2>/dev/null; }
for _ in $(seq 50); do running "$NET" || break; sleep 0.02; done
running "$NET" && fail "gw-$VICTIM's network process outlived its monitor"
log "ok: gw-$VICTIM killed (-9); its network process exited with it"
ns=$(on "$SURV" audit_count '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"')
connect_poll "$HAP" failover 5000
expect_eq "$code" 200 "a new connection through HAProxy after the kill"
OPENS=$((OPENS + 1))
log "kill -9 of gw-$VICTIM to a new connection served through HAProxy: $ms ms"
[ "$ms" -le 5000 ] || fail "failover took $ms ms, not within 5 s"
on "$SURV" audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"' $((ns + 1))
log "ok: ... served by gw-$SURV"
ns=$(echo_opens "$SURV")
expect_eq "$(via_connect after)" after "the same mwg connect serves a new connection after the kill, on its own"
OPENS=$((OPENS + 1))
expect_eq "$(echo_opens "$SURV")" $((ns + 1)) "... through gw-$SURV"
kill -0 "${PROC_PID[connect]}" || fail "mwg connect ended"
stop_proc connect
on "$SURV" audit_wait '.["event.action"]=="tunnel.close" and .["destination.address"]=="echo.K84001"' "$(echo_opens "$SURV")"
# The killed node comes back: its chain goes on in the same file.
start_node "$VICTIM" -2
hap_wait_status mwg_tls_nodes "node-$VICTIM" UP >/dev/null

# ---- 5. the database stops and comes back ------------------------------------
tun_open 127.0.0.1 "$HAP_TLS" "echo.K84001:$ECHO_PORT"
OPENS=$((OPENS + 1))
expect_eq "$(tun_say 'echo 262144')" "echoed 262144 same" "a tunnel through HAProxy carries 256 KiB each way"
pg_cluster_stop "$T/pg" fast || fail "PostgreSQL did not stop"
log "PostgreSQL stopped"
expect_eq "$(tun_say 'echo 262144')" "echoed 262144 same" "during the outage the open tunnel carries 256 KiB each way, exactly"
expect_eq "$(connect_code "${ADDR[b]}:$GW_PORT" outage)" 200 "during the outage a new CONNECT on gw-b is decided from memory"
OPENS=$((OPENS + 1))
# A login needs a code of a step no login has used yet, and the polling
# after the outage uses it too: the next step, or the current one if
# later, stays good for 30 s at least.
now=$(( $(date +%s) / 30 ))
STEP=$(( STEP + 1 > now ? STEP + 1 : now ))
otp=$(totp_at "$STEP")
r=$(GW=${ADDR[a]}:$GW_PORT gw_login dev alice "$ALICE_PW" "$otp")
expect_eq "$(tail -1 <<<"$r")" 503 "a login on gw-a during the outage: 503"
expect_eq "$(sed '$d' <<<"$r" | jq -r '[.error, .reason]|join(": ")')" \
	"database-unavailable: the gateway's database is unreachable; try again in a minute" "... saying the database is unreachable"
on a audit_wait '.["event.action"]=="request.reject" and .["http.response.status_code"]==503' 1
expect_eq "$(on a audit_select '.["event.action"]=="request.reject" and .["http.response.status_code"]==503' | jq -r '[.["url.path"], .["event.outcome"], .["event.reason"]]|join(" / ")')" \
	"/v1/login / failure / the gateway's database is unreachable; try again in a minute" "gw-a's record of the refused login"
# Past store { not-ready-after 5s } the nodes say they cannot serve.
health_of() {	# a|b: "STATUS BODY" of its GET /health
	local out
	out=$(curl -sS --max-time 5 --cacert "$T/ca/root.pem" -w ' %{http_code}' \
		"https://${ADDR[$1]}:$GW_PORT/health" 2>/dev/null || true)
	printf '%s\n' "${out##* } ${out% *}"
}
for _ in $(seq 100); do
	[ "$(health_of b | cut -d' ' -f1)" = 503 ] && break
	sleep 0.1
done
expect_eq "$(health_of b)" "503 the state store has been unreachable for 5 s" \
	"gw-b's /health once the store has been out for longer than not-ready-after"
expect_eq "$(connect_code "${ADDR[b]}:$GW_PORT" not-ready)" 200 "... while it still decides a CONNECT from memory"
OPENS=$((OPENS + 1))
pg_cluster_start "$T/pg" "$PG_PORT" || fail "PostgreSQL did not start again"
t0=$(date +%s%3N)
n503=1
while :; do
	r=$(GW=${ADDR[a]}:$GW_PORT gw_login dev alice "$ALICE_PW" "$otp")
	ms=$(( $(date +%s%3N) - t0 ))
	[ "$(tail -1 <<<"$r")" = 503 ] && n503=$((n503 + 1))
	[ "$(tail -1 <<<"$r")" != 503 ] || [ "$ms" -gt 10000 ] && break
	sleep 0.1
done
expect_eq "$(tail -1 <<<"$r")" 200 "a login on gw-a once PostgreSQL is back"
log "PostgreSQL started to a login that works: $ms ms ($((n503 - 1)) answered 503 meanwhile)"
expect_eq "$(tun_say 'echo 65536')" "echoed 65536 same" "the tunnel opened before the outage still carries bytes after it"
tun_end
expect_eq "$(connect_code "${ADDR[b]}:$GW_PORT" back)" 200 "gw-b serves CONNECTs after the outage"
OPENS=$((OPENS + 1))
for n in a b; do
	on "$n" audit_wait '.["event.action"]=="state.reload"' 1
	for _ in $(seq 50); do
		[ "$(health_of "$n")" = "200 ready" ] && break
		sleep 0.1
	done
	expect_eq "$(health_of "$n")" "200 ready" "gw-$n's /health is ready again, after its state.reload"
done

# ---- 6. a logout and a revocation made on gw-a reach gw-b ---------------------
# mwg logout (to gw-a, mwg-a's gateway) ends the session: gw-b closes the
# tunnel it holds with that session certificate.
tun_open "${ADDR[b]}" "$GW_PORT" "echo.K84001:$ECHO_PORT"
OPENS=$((OPENS + 1))
expect_eq "$(tun_say "cut $(jq -nc --arg m "$MWG" --arg d "$T/mwg-a" '[$m, "logout", "--dir", $d]')")" \
	"exit 0" "mwg logout through gw-a"
read -r -t 10 line <&"$tout" || fail "the tunnel client did not report"
tun_end
[[ "$line" =~ ^closed\ after\ ([0-9]+)\ ms$ ]] || fail "gw-b's tunnel was still open 3 s after the logout on gw-a ($line)"
log "logout on gw-a to the close of gw-b's tunnel: ${BASH_REMATCH[1]} ms"
[ "${BASH_REMATCH[1]}" -le 1000 ] || fail "not within 1 s"
on b audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="session-ended"' 1
# Both of alice's sessions on the device ended (the logins of 2 and 5);
# the tunnel was the first's.
on b audit_wait '.["event.action"]=="state.sync" and .["mwg.change"]=="session-end"' 2
expect_eq "$(on b audit_select '.["event.action"]=="state.sync" and .["mwg.change"]=="session-end"' | jq -r '[.["user.name"], .["tunnels.closed"]]|join(" / ")' | sort -r | paste -sd,)" \
	"alice / 1,alice / 0" "gw-b's state.sync: both sessions ended on gw-a, the tunnel closed"
# A revocation made on gw-a: gw-b refuses the device and its CRL lists it.
serial=$(openssl x509 -in "$T/dev.pem" -noout -serial | cut -d= -f2)
whoami_b() { curl -sS --max-time 5 --cacert "$T/ca/root.pem" --cert "$T/dev.pem" --key "$T/dev.key" \
	-o /dev/null -w '%{http_code}' "https://${ADDR[b]}:$GW_PORT/v1/whoami" 2>/dev/null || true; }
expect_eq "$(whoami_b)" 200 "gw-b knows the device before the revocation"
"$BIN/mwgctl" -s "$T/a.sock" device revoke "$DEV" --reason "stolen laptop" >/dev/null || fail "device revoke on gw-a"
t0=$(date +%s%3N)
while :; do
	code=$(whoami_b)
	ms=$(( $(date +%s%3N) - t0 ))
	[ "$code" = 401 ] || [ "$ms" -gt 3000 ] && break
	sleep 0.05
done
expect_eq "$code" 401 "gw-b refuses the device revoked on gw-a"
log "revocation on gw-a to gw-b's refusal: $ms ms"
curl -sS --max-time 5 --cacert "$T/ca/root.pem" -o "$T/crl-b.pem" "https://${ADDR[b]}:$GW_PORT/crl" || fail "GET /crl on gw-b"
expect_match "$(openssl crl -in "$T/crl-b.pem" -noout -text)" "Serial Number: 0*$serial" "gw-b's CRL lists the certificate revoked on gw-a"
on b audit_wait '.["event.action"]=="state.sync" and .["mwg.change"]=="revoke"' 1
expect_eq "$(on b audit_select '.["event.action"]=="state.sync" and .["mwg.change"]=="revoke"' | jq -r '[.["device.id"], .["event.reason"]]|join(" / ")')" \
	"$DEV / stolen laptop" "gw-b's state.sync: the revocation made on gw-a"

# ---- every record, and both chains -----------------------------------------
stop_proc haproxy
stop_proc mwgd-a
stop_proc mwgd-b
sum() {	# jq condition: records matching it on both nodes
	echo $(( $(on a audit_count "$1") + $(on b audit_count "$1") ))
}
expect_eq "$(sum '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success"')" "$OPENS" \
	"the nodes recorded every tunnel the clients saw opened ($OPENS)"
expect_eq "$(sum '.["event.action"]=="tunnel.close"')" "$OPENS" "... and its close"
expect_eq "$(sum '.["event.action"]=="auth.login" and .["event.outcome"]=="success"')" 2 "both logins that succeeded"
expect_eq "$(on a audit_count '.["event.action"]=="request.reject" and .["http.response.status_code"]==503')" "$n503" \
	"every 503 the client saw ($n503) has its record"
expect_eq "$(sum '.["event.action"]=="enrol.issue"')" 1 "one enrolment"
ra=$(wc -l <"$T/log-a/audit.jsonl")
rb=$(wc -l <"$T/log-b/audit.jsonl")
rc=0
out=$("$BIN/mwgctl" audit verify --key "$T/state-a/audit.key.pub" --key "$T/state-b/audit.key.pub" \
	"$T/log-a/audit.jsonl" "$T/log-b/audit.jsonl" 2>&1) || rc=$?
log "$out"
expect_eq "$rc" 0 "mwgctl audit verify of both nodes' trails: exit 0"
expect_match "$out" "^OK: $ra records of node gw-a \(seq 1\.\.$ra\) in 1 files, .*
OK: $rb records of node gw-b \(seq 1\.\.$rb\) in 1 files, .*
2 chains \(one per node\): 2 verify, 0 fail$" "both nodes' chains verify, every line of each file in them, no seq missing"
