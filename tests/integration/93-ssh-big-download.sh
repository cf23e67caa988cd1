#!/usr/bin/env bash
# A download larger than OpenSSH's channel window (2 MiB) through the SSH
# jump listener: every byte arrives, in order, and the tunnel closes as
# completed with the exact count. The forwarding thread must notice the
# client's WINDOW_ADJUST (no libssh callback says so): a download that
# stalled after the first window failed this. Exact bytes only, never
# speed. Also: mwgd raises its own descriptor limit to the hard one and
# says how many tunnels that allows. Bounded: 50 s at most.
. "$(dirname "$0")/common.sh"
ALICE_PW=alice-Pw-93d0c1
SSH_PORT=$((BASE + 9))
BYTES=$((9 * 1024 * 1024 + 4097))	# past four windows, not a whole chunk
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
# The source stands where the web server (target emis) usually is.
"$BIN/mwg-backend" --listen "127.0.0.1:$HTTP_PORT" --mode source --bytes "$BYTES" \
	>"$T/backend-source.log" 2>&1 &
proc_track backend-source $! 0 "$T/backend-source.log"
wait_port "$HTTP_PORT"
MWGD_WRAP=(prlimit --nofile=1024:4096)
start_mwgd
wait_port "$SSH_PORT"
expect_eq "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$MWGD_PID/limits")" "4096 4096" \
	"mwgd raised its soft descriptor limit to the hard one"
expect_match "$(cat "$T/mwgd.log")" "descriptor limit 4096 \(was 1024\): room for about 2016 tunnels at once" \
	"mwgd says how many tunnels its descriptor limit allows"
. "$(dirname "$0")/ssh-common.sh"
ssh_alice_session

# What the source sends: byte i is i % 251.
want_sha=$(python3 -c '
import hashlib, sys
n = int(sys.argv[1]); h = hashlib.sha256(); block = bytes(i % 251 for i in range(251 * 4096))
while n > 0:
    h.update(block[:n]); n -= len(block)
print(h.hexdigest())' "$BYTES")

# Nothing written: ssh -W ends when the target's EOF and close arrive. The
# reader starts 2 s late, so the client's window is used up and only its
# WINDOW_ADJUST can start the bytes again (a faster reader keeps the window
# open and hides the stall; a slower one changes nothing that is asserted).
rc=0
timeout 40 ssh -F "$T/ssh-alice" -W "emis.K84001:$HTTP_PORT" gw </dev/null 2>"$T/down.err" |
	{ sleep 2; cat; } >"$T/down.bin" || rc=$?
expect_eq "$rc" 0 "ssh -W of the download exits 0 ($(head -c 200 "$T/down.err"))"
expect_eq "$(stat -c %s "$T/down.bin")" "$BYTES" "the download's byte count"
expect_eq "$(sha256sum <"$T/down.bin" | cut -d ' ' -f 1)" "$want_sha" "the download's sha256 (byte i is i % 251)"
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh"' 1
expect_eq "$(audit_select '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh"' |
	jq -r '[.["event.reason"], .["network.bytes_down"], .["network.bytes_up"]]|join(" ")')" \
	"completed $BYTES 0" "tunnel.close: completed, the exact bytes down, none up"
log "ok: $BYTES bytes downloaded through one SSH channel, sha256 exact"
stop_mwgd
