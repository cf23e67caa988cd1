#!/usr/bin/env bash
# Live SSH downloads survive a storm of other sessions on the same
# forwarding threads: 3 downloads of 16 MiB through ssh -W while 16
# clients connect, echo one line and disconnect over and over. Every
# download arrives whole (exact count and sha256) and closes as
# completed; every churn connection echoes its own line; mwgd ends clean.
# (The longer version, 3 x 256 MiB, is bench/ssh_bench.sh's churn mode.)
# Exact outcomes only, never speed. Bounded: about 60 s at most.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-92c7e4
SSH_PORT=$((BASE + 9))
BYTES=$((16 * 1024 * 1024))
DOWNLOADS=3
CHURN=16
CHURN_MAX=40		# connections per churn client at most
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy
# Everything from one address at once: above the default pre-auth bounds.
write_conf "listen ssh 127.0.0.1:$SSH_PORT { max-startups 64:30:64; per-source-max-startups 64 }"
start_backend echo "$ECHO_PORT"
# The source stands where the web server (target emis) usually is.
"$BIN/mwg-backend" --listen "127.0.0.1:$HTTP_PORT" --mode source --bytes "$BYTES" \
	>"$T/backend-source.log" 2>&1 &
proc_track backend-source $! 0 "$T/backend-source.log"
wait_port "$HTTP_PORT"
start_mwgd
wait_port "$SSH_PORT"
. "$(dirname "$0")/ssh-common.sh"
ssh_alice_session
sed -i 's/^    BatchMode yes/    BatchMode yes\n    LogLevel ERROR/' "$T/ssh-alice"

want_sha=$(python3 -c '
import hashlib, sys
n = int(sys.argv[1]); h = hashlib.sha256(); block = bytes(i % 251 for i in range(251 * 4096))
while n > 0:
    h.update(block[:n]); n -= len(block)
print(h.hexdigest())' "$BYTES")

churn_done() { cat "$T"/churn.* 2>/dev/null | wc -l; }

# The downloads open first; their readers wait until every churn client
# has finished one connection, so the bytes flow while the storm goes on
# (the storm lasts until every download has ended).
dl_pids=()
for i in $(seq "$DOWNLOADS"); do
	( rc=0
	timeout 50 ssh -F "$T/ssh-alice" -W "emis.K84001:$HTTP_PORT" gw </dev/null 2>"$T/dl-err.$i" |
		{ while [ "$(churn_done)" -lt "$CHURN" ]; do sleep 0.05; done; cat; } >"$T/dl.$i" || rc=$?
	echo "$rc" >"$T/dl-rc.$i" ) &
	dl_pids+=($!)
done
churn_pids=()
for j in $(seq "$CHURN"); do
	( : >"$T/churn.$j"
	for k in $(seq "$CHURN_MAX"); do
		out=$(printf 'churn-%d-%d\n' "$j" "$k" |
			timeout 30 ssh -F "$T/ssh-alice" -W "echo.K84001:$ECHO_PORT" gw 2>>"$T/churn-err.$j") &&
			[ "$out" = "churn-$j-$k" ] && echo ok >>"$T/churn.$j" || echo "bad $k: '$out'" >>"$T/churn.$j"
		[ -e "$T/dl-over" ] && break
	done ) &
	churn_pids+=($!)
done
for p in "${dl_pids[@]}"; do wait "$p" || true; done
touch "$T/dl-over"
for p in "${churn_pids[@]}"; do wait "$p" || true; done

for i in $(seq "$DOWNLOADS"); do
	expect_eq "$(cat "$T/dl-rc.$i")" 0 "download $i: ssh -W exits 0 ($(head -c 200 "$T/dl-err.$i"))"
	expect_eq "$(stat -c %s "$T/dl.$i")" "$BYTES" "download $i: byte count"
	expect_eq "$(sha256sum <"$T/dl.$i" | cut -d ' ' -f 1)" "$want_sha" "download $i: sha256"
done
n=$(churn_done)
bad=$(cat "$T"/churn.* | { grep -v '^ok$' || true; })
expect_eq "$(printf '%s' "$bad" | grep -c . || true)" 0 "every churn connection echoed its own line (${bad:0:200})"
[ "$n" -ge $((2 * CHURN)) ] || fail "only $n churn connections were made"
total=$((n + DOWNLOADS))
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh"' "$total"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh" and .["event.reason"]!="completed"')" 0 \
	"every SSH tunnel closed as completed"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh" and .["network.bytes_down"]=='"$BYTES")" \
	"$DOWNLOADS" "tunnel.close records the exact bytes of each download"
log "ok: $DOWNLOADS downloads of $BYTES bytes whole while $n churn connections came and went"
stop_mwgd
