#!/usr/bin/env bash
# Connection limits under pressure. At the limit each new connection is
# refused with a 503 it must complete a TLS handshake to read; at most 64
# such refusals are in flight per worker, and beyond them a connection is
# closed at once (a flood of silent clients cannot pin descriptors). Out
# of descriptors, a worker pauses accepting for a second instead of
# spinning, and serves the waiting clients once descriptors return.
. "$(dirname "$0")/common.sh"
make_ca
make_device laptop-1
write_policy
write_conf 'limits { connections 1 }
timeouts { head 5s }'
start_backend echo "$ECHO_PORT"
start_mwgd

# Silent TCP clients: N connect and say nothing; after a moment, how many
# mwgd has closed. They stay open until the script's stdin closes.
silent() {	# n -> "open N closed M"
	exec python3 -c '
import socket, sys, time, select
n, port = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
time.sleep(1)
closed = 0
for s in socks:
    r, _, _ = select.select([s], [], [], 0)
    if r and s.recv(1) == b"":
        closed += 1
print("open %d closed %d" % (n - closed, closed), flush=True)
sys.stdin.read()
' "$1" "$GW_PORT"
}

open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
exec {hold}> >(silent 200 >"$T/silent.out")
PIDS+=($!)	# so that a failure's cleanup does not wait on it forever
wait_for_line "$T/silent.out" "^open "
read -r _ open _ closed <"$T/silent.out"
[ "$open" -le 128 ] || fail "$open refused connections held open at once; at most 64 per worker (128)"
[ "$open" -ge 64 ] || fail "only $open refusals in flight; expected at least one worker's 64"
log "ok: of 200 connections over the limit, $open wait for their 503 and $closed were closed at once"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq .refused)" 200 "all 200 counted as refused"
exec {hold}>&-
# Once they are gone, a client over the limit is told why again.
for _ in $(seq 100); do
	[ "$("$BIN/mwgctl" -s "$CTL" status --json | jq .connections)" = 1 ] && break
	sleep 0.1
done
body=$(printf 'GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n' | gw_raw - | tail -1)
expect_eq "$(jq -r .error <<<"$body")" busy "a refusal is answered again once the flood is gone"
stop_mwgd

# Out of descriptors: mwgd with 40 of them (about 23 in use when idle).
write_conf 'timeouts { head 5s }'
MWGD_WRAP=(prlimit --nofile=40:40)
start_mwgd
MWGD_WRAP=()
# The workers are in the network process (mwgd's child; the limit is
# inherited): its descriptors and its CPU are what count.
NET=$(pgrep -P "$MWGD_PID" -f -- '--network-process' | head -1)
[ -n "$NET" ] || fail "no network process"
cpu() { awk '{ print $14 + $15 }' "/proc/$NET/stat"; }
# Just enough silent clients to use every free descriptor, and 3 more
# that wait in the listen queue (more there would need a second pause).
free=$(( 40 - $(ls "/proc/$NET/fd" | wc -l) ))
exec {hold}> >(silent $((free + 3)) >"$T/silent2.out")
PIDS+=($!)
wait_for_line "$T/mwgd.log" "out of file descriptors; pausing accept for 1s"
log "ok: out of descriptors, the worker pauses accepting"
c0=$(cpu)
# A real client now waits in the listen queue, not refused.
( exec {hold}>&-; gw_curl laptop-1 -o /dev/null -w '%{http_code} %{time_total}\n' "https://$GW/v1/whoami" \
	--proxy '' --cacert "$T/ca/root.pem" --cert "$T/laptop-1.pem" --key "$T/laptop-1.key" \
	>"$T/waiting.out" 2>&1 ) &
waiting=$!
sleep 2	# the time the pause is measured over: the condition is "nothing happens"
c1=$(cpu)
[ $((c1 - c0)) -le 50 ] || fail "mwgd used $((c1 - c0)) ticks of CPU in 2 s out of descriptors: spinning"
log "ok: $((c1 - c0)) ticks of CPU in 2 s out of descriptors (no spinning)"
pauses=$(grep -c "out of file descriptors" "$T/mwgd.log")
[ "$pauses" -le 8 ] || fail "$pauses pause lines in about 3 s: not once a second per worker"
[ -s "$T/waiting.out" ] && fail "the waiting client was answered while no descriptor was free: $(cat "$T/waiting.out")"
t0=$(date +%s%3N)
exec {hold}>&-
wait "$waiting"
read -r code _ <"$T/waiting.out"
expect_eq "$code" 200 "the waiting client is served once descriptors return"
ms=$(( $(date +%s%3N) - t0 ))
[ "$ms" -le 2000 ] || fail "served $ms ms after descriptors returned, expected within the 1 s pause"
log "ok: served $ms ms after descriptors returned"
stop_mwgd
