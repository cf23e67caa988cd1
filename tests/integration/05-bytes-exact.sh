#!/usr/bin/env bash
# 1 MiB each way through one tunnel, byte for byte: openssl s_client sends
# a CONNECT and 1 MiB of random bytes to an echo server and must read the
# same 1 MiB back; the audit record counts exactly those bytes. Then 1 MiB
# downloaded with curl arrives intact.
. "$(dirname "$0")/common.sh"
setup_default
size=$((1024 * 1024))
head -c "$size" /dev/urandom >"$T/in.bin"
hdr=$(printf 'CONNECT echo.K84001:%s HTTP/1.1\r\nHost: echo.K84001\r\n\r\n' "$ECHO_PORT")
answer='HTTP/1.1 200 Connection established'
want=$(( ${#answer} + 4 + size ))
# s_client -quiet keeps reading after its input ends; stop it once all
# the echo is in.
openssl s_client -quiet -connect "$GW" -CAfile "$T/ca/root.pem" \
	-cert "$T/laptop-1.pem" -key "$T/laptop-1.key" \
	< <(printf '%s' "$hdr"; cat "$T/in.bin") >"$T/out.bin" 2>/dev/null &
sc=$!
PIDS+=("$sc")
for _ in $(seq 300); do
	[ "$(stat -c %s "$T/out.bin")" -ge "$want" ] && break
	sleep 0.1
done
kill "$sc" 2>/dev/null; wait "$sc" 2>/dev/null || true
expect_eq "$(head -1 "$T/out.bin" | tr -d '\r')" "$answer" "CONNECT answered 200"
expect_eq "$(stat -c %s "$T/out.bin")" "$want" "answer plus 1 MiB, nothing more"
tail -c "$size" "$T/out.bin" >"$T/echoed.bin"
expect_eq "$(sha256sum <"$T/echoed.bin")" "$(sha256sum <"$T/in.bin")" "1 MiB echoed byte for byte"
audit_wait '.["event.action"]=="tunnel.close"' 1
close=$(audit_select '.["event.action"]=="tunnel.close"' | head -1)
expect_eq "$(jq -r '.["network.bytes_up"]' <<<"$close")" "$size" "bytes up counted exactly"
expect_eq "$(jq -r '.["network.bytes_down"]' <<<"$close")" "$size" "bytes down counted exactly"

# Half-close: 1 MiB to a discard server, then close_notify; the server
# answers how many bytes it got, and that answer must still reach us.
start_backend discard "$SINK_PORT"
out=$("$BIN/loadgen" bulk --send 1 --addr "$GW" --cert "$T/laptop-1.pem" \
	--key "$T/laptop-1.key" --ca "$T/ca/root.pem" --connect "sink.K84001:$SINK_PORT")
log "$out"
audit_wait '.["event.action"]=="tunnel.close" and .["destination.address"]=="sink.K84001"' 1
close=$(audit_select '.["event.action"]=="tunnel.close" and .["destination.address"]=="sink.K84001"')
expect_eq "$(jq -r '.["network.bytes_up"]' <<<"$close")" "$size" "upload counted exactly"
expect_eq "$(jq -r '.["network.bytes_down"]' <<<"$close")" 8 "the count (\"1048576\\n\") came back after the half-close"
expect_eq "$(jq -r '.["event.reason"]' <<<"$close")" completed "closed as completed"
stop_mwgd
