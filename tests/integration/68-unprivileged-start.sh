#!/usr/bin/env bash
# mwgd started as its user with the unit's four capabilities, never root
# (deploy/mwgd.service: User=, AmbientCapabilities=), here through setpriv
# as the unit would: it binds a port below 1024, gives the control socket
# to a control-group it is a member of only while starting, reads keys
# that user owns (0600), and serves a CONNECT end to end. After start-up
# the monitor holds no effective, inheritable or ambient capability and
# only CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT permitted, no other
# group; the network process runs as mwg-net with nothing (in its empty
# root on a release build: run with MWG_BUILD=build/strict). Setting a
# limit is refused (tests/tools/deny-setrlimit.py, EPERM, as a unit's
# filter may): the descriptor limit and RLIMIT_NPROC 0 are not applied,
# mwgd says so and serves. A start with only some of the capabilities, or
# outside control-group, is refused; a start as a user without any stays
# that user, as before.
. "$(dirname "$0")/common.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (setpriv to another user with capabilities)"
getent passwd mwg-net >/dev/null || fail "no user mwg-net (deploy/deps.sh test makes it)"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ADM_GID=3999	# control-group, as the unit's SupplementaryGroups= mwg-admin
# The control socket's directory is the user's, as the unit's
# RuntimeDirectory= makes /run/mwg.
mkdir -p "$T/run" && chown nobody:nogroup "$T/run"
CTL=$T/run/control.sock
# A free port below 1024 for the metrics listener: binding it needs
# CAP_NET_BIND_SERVICE.
LOW=
for p in $(seq $((900 + NUM)) 999); do
	ss -Htln "sport = :$p" | grep -q . || { LOW=$p; break; }
done
[ -n "$LOW" ] || fail "no free port in $((900 + NUM))-999"
make_ca
make_device laptop-1
# The keys are the user's, 0600 (operations.md §3): no root reads them.
chown nobody:nogroup "$T/ca/server.key" "$T/ca/issuing.key"
chmod 0600 "$T/ca/server.key" "$T/ca/issuing.key"
setup_identity
printf 'mwgadm:x:%d:\n' "$ADM_GID" >>"$T/group"
write_policy
write_conf "control-group mwgadm
listen metrics 127.0.0.1:$LOW"
start_backend http "$HTTP_PORT"

CAPS=+net_bind_service,+setuid,+setgid,+sys_chroot
as_user() {	# caps groups: setpriv as nobody with caps inherited and ambient
	local c=()
	[ -n "$1" ] && c=(--inh-caps="$1" --ambient-caps="$1")
	echo setpriv --reuid=65534 --regid=65534 --groups="$2" "${c[@]}"
}
# The environment goes to mwgd, not to the wrappers (libasan, nss_wrapper).
ENV_FOR_MWGD=("${MWGD_ENV[@]}")
MWGD_ENV=()
refused() {	# caps groups expected-line
	local rc=0
	# shellcheck disable=SC2046
	timeout 20 $(as_user "$1" "$2") env "${ENV_FOR_MWGD[@]}" "$BIN/mwgd" -f "$T/mwgd.conf" \
		>"$T/refused.log" 2>&1 || rc=$?
	expect_eq "$rc" 1 "refused start ($1, groups $2): exit 1"
	grep -qF "$3" "$T/refused.log" || fail "no '$3' in: $(cat "$T/refused.log")"
	log "ok: refused with '$3'"
}
refused +setuid,+setgid 65534,$ADM_GID \
	"started as uid 65534 with some of CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT but not all"
refused "$CAPS" 65534 "control-group mwgadm: uid 65534 is not in it"

# ---- the unit's start ----------------------------------------------------
# shellcheck disable=SC2207
MWGD_WRAP=(prlimit --nofile=1024:4096 /usr/bin/python3 "$ROOT/tests/tools/deny-setrlimit.py"
	$(as_user "$CAPS" "65534,$ADM_GID") env "${ENV_FOR_MWGD[@]}"
	ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}disable_coredump=0")
start_mwgd
NET=$(pgrep -P "$MWGD_PID" -f -- '--network-process' || true)
[ -n "$NET" ] || fail "no network process under mwgd $MWGD_PID"
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

expect_eq "$(field "$MWGD_PID" Uid)" "65534 65534 65534 65534" "monitor: uid of mwgd.conf's user, never root"
expect_eq "$(field "$MWGD_PID" Groups)" "65534" "monitor: its group alone (control-group dropped after start-up)"
expect_eq "$(field "$MWGD_PID" CapEff)" 0000000000000000 "monitor: no effective capability"
expect_eq "$(field "$MWGD_PID" CapAmb)" 0000000000000000 "monitor: no ambient capability"
expect_eq "$(field "$MWGD_PID" CapInh)" 0000000000000000 "monitor: no inheritable capability"
expect_eq "$(field "$MWGD_PID" CapPrm)" 00000000000400c0 \
	"monitor: CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT permitted (not CAP_NET_BIND_SERVICE)"
# Capabilities are per thread, and a start as the user changes no uid:
# every thread (the audit writer ran before the drop) has none effective
# or ambient and at most the main thread's permitted ones.
bad=$(awk '($1 == "CapEff:" || $1 == "CapAmb:") && $2 != "0000000000000000" ||
	$1 == "CapPrm:" && $2 != "0000000000000000" && $2 != "00000000000400c0" { print FILENAME ": " $0 }' \
	/proc/"$MWGD_PID"/task/*/status)
expect_eq "$bad" "" "monitor: none of its $(ls /proc/"$MWGD_PID"/task | wc -l) threads holds more"
# Not dumpable (its /proc files are root's): no uid changed, so mwgd says
# so itself. The sanitizer build stays dumpable for its leak checker.
if ! ldd "$BIN/mwgd" | grep -q libasan; then
	expect_eq "$(stat -c %u "/proc/$MWGD_PID/status")" 0 "monitor: not dumpable"
fi
expect_eq "$(field "$NET" Uid)" "$(id -u mwg-net) $(id -u mwg-net) $(id -u mwg-net) $(id -u mwg-net)" \
	"network process runs as mwg-net"
for k in CapEff CapPrm CapAmb; do
	expect_eq "$(field "$NET" "$k")" 0000000000000000 "network process: $k empty"
done
expect_eq "$(field "$NET" NoNewPrivs)" 1 "network process: NoNewPrivs"
expect_eq "$(field "$NET" Seccomp)" 2 "network process: seccomp filter"
if ldd "$BIN/mwgd" | grep -q libasan; then
	log "sanitizer build: no chroot (LeakSanitizer reads /proc); run with MWG_BUILD=build/strict for the root"
else
	expect_eq "$(readlink "/proc/$NET/root")" /var/empty "network process's root is its empty directory"
fi

# The refused limits: not applied, said once, survived.
grep -q "network process: RLIMIT_NPROC not set to 0: getrlimit or setrlimit refused (EPERM" "$T/mwgd.log" ||
	fail "the network process did not say RLIMIT_NPROC was refused"
expect_eq "$(awk '/^Max processes/ { print ($3 == "0") }' "/proc/$NET/limits")" 0 \
	"RLIMIT_NPROC really was refused (the filter works)"
grep -q "descriptor limit not raised from 1024 to 4096: setrlimit refused" "$T/mwgd.log" ||
	fail "the monitor did not say the descriptor limit was refused"
log "ok: both refusals logged and survived"

# It serves: a CONNECT through the network process, metrics below 1024,
# the control socket for root (mwgctl) with the control-group.
page=$(gw_curl laptop-1 "http://emis.K84001:$HTTP_PORT/appointments")
expect_match "$page" "Stand-in practice system" "a CONNECT end to end"
expect_match "$(curl -sS --max-time 5 "http://127.0.0.1:$LOW/metrics")" "process_open_fds [0-9]+" \
	"metrics on port $LOW (below 1024: bound with CAP_NET_BIND_SERVICE)"
expect_eq "$(stat -c '%U:%g %a' "$CTL")" "nobody:$ADM_GID 660" "control socket: the user's, group control-group, 0660"
expect_eq "$("$BIN/mwgctl" -s "$CTL" status --json | jq -r .ok)" true "mwgctl (root) reaches the control socket"
grep -q "running as nobody (uid 65534, gid 65534)" "$T/mwgd.log" || fail "no 'running as' line"
stop_mwgd

# ---- a developer's start: a user without capabilities stays as it is -----
write_conf
MWGD_WRAP=($(as_user "" 65534) env "${ENV_FOR_MWGD[@]}")
start_mwgd
NET=$(pgrep -P "$MWGD_PID" -f -- '--network-process' || true)
grep -q "not started as root: staying uid 65534" "$T/mwgd.log" || fail "no 'staying uid' line"
expect_eq "$(field "$NET" Uid)" "65534 65534 65534 65534" "without capabilities: the network process stays the same user"
expect_eq "$(readlink "/proc/$NET/root")" / "without capabilities: no chroot"
page=$(gw_curl laptop-1 "http://emis.K84001:$HTTP_PORT/appointments")
expect_match "$page" "Stand-in practice system" "without capabilities: a CONNECT still served"
stop_mwgd
