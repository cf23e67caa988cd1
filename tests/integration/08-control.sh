#!/usr/bin/env bash
# The control socket: status and sessions show a live tunnel; kill closes
# it at once and both the kill and the close are audited; bad requests get
# clear errors.
. "$(dirname "$0")/common.sh"
setup_default
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT" $'hello\n'
read -r -t 5 hello <&"$tout"
expect_eq "$hello" hello "tunnel carries early bytes sent behind the head"

table=$("$BIN/mwgctl" -s "$CTL" sessions)
expect_match "$table" "laptop-1 +alice +127.0.0.1 +echo.K84001" "sessions table lists the tunnel"
id=$("$BIN/mwgctl" -s "$CTL" sessions --json | jq '.sessions[0].id')
expect_eq "$("$BIN/mwgctl" -s "$CTL" sessions --json | jq '.sessions[0].bytes_up')" 6 "sessions shows bytes up"
status=$("$BIN/mwgctl" -s "$CTL" status)
expect_match "$status" "tunnels_opened +1" "status counts the tunnel"

"$BIN/mwgctl" -s "$CTL" kill "$id" >/dev/null
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="killed-by-admin"' 1
expect_eq "$(audit_count '.["event.action"]=="admin.kill" and .["tunnel.id"]=='"$id"' and .["user.id"]=='"$(id -u)")" 1 "admin.kill audited with the OS user"
if read -r -t 3 line <&"$tout"; then fail "tunnel still delivers after kill: $line"; fi
log "ok: killed tunnel delivers nothing more"

rc=0; err=$("$BIN/mwgctl" -s "$CTL" kill 99999 2>&1) || rc=$?
expect_eq "$rc" 1 "kill of an unknown id exits 1"
expect_eq "$err" "mwgctl: kill: no open tunnel with id 99999" "kill of an unknown id says why"
rc=0; "$BIN/mwgctl" -s "$CTL" kill abc 2>/dev/null || rc=$?
expect_eq "$rc" 2 "kill with a bad id is a usage error"
rc=0; "$BIN/mwgctl" -s "$T/nothing.sock" status 2>/dev/null || rc=$?
expect_eq "$rc" 1 "unreachable daemon exits 1"
# Clients that ask and go without reading the answer are freed, not kept.
fds_before=$(ls "/proc/$MWGD_PID/fd" | wc -l)
# perl-base (always on Debian) speaks to a Unix socket; it asks, then goes.
# It counts the clients that connected and sent: all 100 must, or the
# check below would pass without a single one.
sent=$(perl -MIO::Socket::UNIX -MTime::HiRes=usleep -e 'my $n = 0; for (1..100) { my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or next; print $s "{\"cmd\":\"status\"}\n" and $n++; close $s; usleep(2000) } print $n' "$CTL")
expect_eq "$sent" 100 "100 clients connected and sent a request"
refused=$(grep -c "control: more than" "$T/mwgd.log" || true)
expect_eq "$refused" 0 "none was refused for being one too many"
for _ in $(seq 100); do
	fds_after=$(ls "/proc/$MWGD_PID/fd" | wc -l)
	[ "$fds_after" -le $((fds_before + 2)) ] && break
	sleep 0.05
done
[ "$fds_after" -le $((fds_before + 2)) ] || fail "control clients leaked descriptors: $fds_before -> $fds_after"
log "ok: 100 clients that never read their answer left no descriptor behind ($fds_before -> $fds_after)"
stop_mwgd
