#!/usr/bin/env bash
# mwgd speaks systemd's notify protocol (sd_notify through libsystemd):
# READY=1 once it listens, RELOADING=1 then READY=1 with the outcome in
# STATUS= around each reload (SIGHUP and mwgctl reload, good and broken
# files), WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 at SIGTERM. The
# test plays the service manager: a datagram socket in NOTIFY_SOCKET.
. "$(dirname "$0")/common.sh"
SOCK=$T/notify.sock
MSGS=$T/notify.jsonl
python3 - "$SOCK" "$MSGS" <<'PY' &
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)      # mwgd sends after dropping to nobody
with open(sys.argv[2], "a") as out:
    while True:
        out.write(json.dumps(s.recv(4096).decode()) + "\n")
        out.flush()
PY
PIDS+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "the notify socket did not appear"

msgs() { jq -r . "$MSGS" 2>/dev/null | tr '\n' '|' | sed 's/READY=1/\nREADY=1/g; s/RELOADING=1/\nRELOADING=1/g; s/STOPPING=1/\nSTOPPING=1/g; s/WATCHDOG=1|/\nWATCHDOG=1|/g'; }
msg_count() { msgs | grep -c "$1" || true; }
wait_msgs() {	# regex n
	for _ in $(seq 100); do
		[ "$(msg_count "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "fewer than $2 notify messages match /$1/: $(msgs)"
}

make_ca
write_policy
write_conf
MWGD_ENV=(NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=400000)
start_mwgd
wait_msgs '^READY=1' 1
expect_match "$(msgs | grep -m1 '^READY=1')" "^READY=1\|STATUS=listening on $GW with 2 workers\|$" "READY=1 with what it listens on"

kill -HUP "$MWGD_PID"
wait_msgs '^READY=1.*STATUS=reloaded' 1
expect_match "$(msgs | grep '^RELOADING=1' | head -1)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|$' "SIGHUP: RELOADING=1 with the monotonic time"
expect_eq "$(msgs | grep -c '^RELOADING=1' || true)" 1 "one RELOADING=1 per reload"
expect_match "$(msgs | grep '^READY=1' | sed -n 2p)" "^READY=1\|STATUS=reloaded $T/mwgd.conf\|$" "... then READY=1 with the outcome"

echo "role broken {" >>"$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null 2>&1 || true
wait_msgs '^READY=1.*STATUS=reload refused' 1
expect_match "$(msgs | grep '^READY=1' | sed -n 3p)" "^READY=1\|STATUS=reload refused, old configuration kept: $T/policy.conf:[0-9]+:[0-9]+: " \
	"a broken file: READY=1 again, STATUS says refused and where"
expect_eq "$(msgs | grep -c '^RELOADING=1' || true)" 2 "mwgctl reload: RELOADING=1 too"

wait_msgs '^WATCHDOG=1' 4
log "ok: WATCHDOG=1 pings at half of WATCHDOG_USEC ($(msg_count '^WATCHDOG=1') so far)"
stop_mwgd
wait_msgs '^STOPPING=1' 1
expect_eq "$(msgs | grep -v '^WATCHDOG' | tail -1 | cut -d'|' -f1)" "STOPPING=1" "STOPPING=1 is the last word"
