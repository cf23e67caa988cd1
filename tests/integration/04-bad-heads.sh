#!/usr/bin/env bash
# Hostile request heads: oversized (431), too many fields (431), garbage
# (400), and a slow client that never finishes its head (dropped after the
# head timeout). The gateway keeps serving throughout.
. "$(dirname "$0")/common.sh"
setup_default 'timeouts { head 2s }'
send() {	# raw head -> first line of the answer
	gw_raw laptop-1 | head -1 | tr -d '\r'
}
big=$(head -c 9000 /dev/zero | tr '\0' a)
expect_eq "$(printf 'CONNECT emis.K84001:%s HTTP/1.1\r\nX-Big: %s\r\n\r\n' "$HTTP_PORT" "$big" | send)" \
	"HTTP/1.1 431 Request Header Fields Too Large" "head over 8 KiB"
many=$(for i in $(seq 70); do printf 'X-%d: y\r\n' "$i"; done)
expect_eq "$(printf 'GET /v1/whoami HTTP/1.1\r\n%s\r\n\r\n' "$many" | send)" \
	"HTTP/1.1 431 Request Header Fields Too Large" "too many header fields"
expect_eq "$(printf 'HELLO WORLD\r\n\r\n' | send)" "HTTP/1.1 400 Bad Request" "garbage request line"
expect_eq "$(printf 'GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n' | send)" "HTTP/1.1 404 Not Found" "unknown endpoint"
expect_eq "$(printf 'POST /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n' | send)" "HTTP/1.1 405 Method Not Allowed" "wrong method"

# Slowloris: part of a head, then silence. The client's input stays open,
# so only mwgd can end the exchange: it must, at the 2 s head limit.
exec {slow}< <(printf 'CONNECT emis.K84001:%s HTTP/1.1\r\n' "$HTTP_PORT"; exec sleep 10)
slow_pid=$!
start=$(date +%s%N)
gw_raw laptop-1 <&"$slow" >/dev/null || true
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill "$slow_pid" 2>/dev/null || true
exec {slow}<&-
[ "$ms" -ge 1500 ] && [ "$ms" -le 4000 ] || fail "slow head ended after ${ms} ms, expected about 2000"
log "ok: slow head dropped after ${ms} ms"
# A plain-TCP client that never starts TLS is dropped too.
start=$(date +%s)
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GW_PORT; cat <&3 >/dev/null" || true
took=$(( $(date +%s) - start ))
[ "$took" -le 4 ] || fail "silent TCP client not dropped (took ${took}s)"
log "ok: silent TCP client dropped after ${took}s"
audit_wait '.["event.action"]=="request.reject" and .["http.response.status_code"]==431' 2
audit_wait '.["event.action"]=="request.reject" and .["http.response.status_code"]==400' 1
log "ok: rejected heads are audited with their status"
# Still serving.
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "still serving"
stop_mwgd
