# Shared set-up for the integration scenarios: a throwaway CA, device
# certificates, stand-in practice systems, a real mwgd (the sanitizer build)
# on 127.0.0.1, and assertions on exact outcomes. Sourced by NN-*.sh.
set -Eeuo pipefail
trap 'fail "line $LINENO: \"$BASH_COMMAND\" failed"' ERR

BIN=${MWG_BUILD:?set MWG_BUILD to a build directory}/bin
SCENARIO=$(basename "$0" .sh)
NUM=$((10#${SCENARIO%%-*}))
T=$(mktemp -d "/tmp/mwg-$SCENARIO.XXXXXX")
chmod 755 "$T"
# MWG_PORT_BASE moves every port, so two checkouts can run scenarios at once.
BASE=$((${MWG_PORT_BASE:-21000} + NUM * 20))
GW_PORT=$BASE
HTTP_PORT=$((BASE + 1))		# stand-in practice web server
ECHO_PORT=$((BASE + 2))		# echoes every byte
DOWN_PORT=$((BASE + 3))		# nothing listens here
SINK_PORT=$((BASE + 4))		# discard: counts bytes
GW=127.0.0.1:$GW_PORT
CTL=$T/control.sock
# The audit directory belongs to the daemon's user, as in production: it
# rotates there and the forwarder keeps its position there.
mkdir -p "$T/log"
chown nobody:nogroup "$T/log" 2>/dev/null || true
AUDIT=$T/log/audit.jsonl
AUDIT_PUB=$T/state/audit.key.pub	# the default key lives in state-dir
MWGD_PID=
PIDS=()
# Commands cleanup runs once the tracked programs have stopped: what a
# scenario started that is neither ours nor a child (a PostgreSQL cluster).
AT_EXIT=()

log() { printf '%s: %s\n' "$SCENARIO" "$*"; }
fail() { printf '%s: FAIL: %s\n' "$SCENARIO" "$*" >&2; dump_logs; exit 1; }
dump_logs() {
	[ -f "$T/mwgd.log" ] && { echo "--- mwgd.log"; tail -20 "$T/mwgd.log"; } >&2
	[ -f "$AUDIT" ] && { echo "--- audit"; tail -10 "$AUDIT"; } >&2
	return 0
}
# A check that cannot run here (no root, no tmpfs) is a skip, never a
# silent pass: it prints "skip", the scenario ends with status 77 (counted
# apart by tests/run-all.sh), and under CI=true it is a failure.
SKIP_STATUS=77
SKIPPED=
skip_part() {	# reason: the rest of the scenario still runs
	[ "${CI:-}" = true ] && fail "skip under CI=true: $*"
	printf '%s: skip: %s\n' "$SCENARIO" "$*"
	SKIPPED=1
}
skip() {	# reason: the scenario ends here
	skip_part "$@"
	exit "$SKIP_STATUS"
}
expect_eq() {	# actual expected what
	[ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"
	log "ok: $3"
}
expect_match() {	# text regex what
	[[ "$1" =~ $2 ]] || fail "$3: '$1' does not match /$2/"
	log "ok: $3"
}

# Every log and audit file a scenario made, and every secret it used, go
# to one place; the last scenario checks that no secret reached a log.
COLLECT=${MWG_BUILD}/test-logs/collected
mkdir -p "$COLLECT"
COLLECT_SECRETS_FILE=$COLLECT/secrets.txt
# Which kinds of secret were collected, one "kind scenario" a line: 99
# checks each kind was looked for, so the scan cannot pass by having
# nothing to look for.
COLLECT_KINDS_FILE=$COLLECT/secret-kinds.txt
collect_secret() {	# kind value
	printf '%s\n' "$2" >>"$COLLECT_SECRETS_FILE"
	printf '%s %s\n' "$1" "$SCENARIO" >>"$COLLECT_KINDS_FILE"
}
collect_for_secret_scan() {
	local f
	mkdir -p "$COLLECT/$SCENARIO"
	# Numbered backups: two nodes' audit.jsonl are both kept (56, 57).
	find "$T" -maxdepth 2 -type f \( -name '*.log' -o -name '*.jsonl*' \
		-o -name '*.out' -o -name '*.torn' \) -exec cp --backup=numbered {} "$COLLECT/$SCENARIO/" \; 2>/dev/null
	# PEM and OpenSSH private keys (TLS, CA, audit, device, SSH host
	# keys): the lines of their bodies.
	while IFS= read -r f; do
		grep -a -v -- "-----" "$f" >>"$COLLECT_SECRETS_FILE"
		case "$f" in
		*/ssh_host_*_key) printf 'ssh-host-key %s\n' "$SCENARIO" >>"$COLLECT_KINDS_FILE" ;;
		*) printf 'private-key %s\n' "$SCENARIO" >>"$COLLECT_KINDS_FILE" ;;
		esac
	done < <(find "$T" -maxdepth 3 -type f \( -name '*.key' -o -name 'ssh_host_*_key' \) ! -name secrets.key 2>/dev/null)
	# The store's binary key: as hex and as base64, as a log would show it.
	while IFS= read -r f; do
		collect_secret store-key "$(od -An -v -tx1 "$f" | tr -d " \n")"
		collect_secret store-key "$(base64 -w0 "$f")"
	done < <(find "$T" -maxdepth 3 -type f -name secrets.key 2>/dev/null)
	return 0
}

# A sanitizer or glibc report in a log is a crash even where the exit
# status might hide it (a report from a helper thread, a child process).
# A network process killed by its seccomp filter counts as a crash.
SANITIZER_RE='Sanitizer|runtime error|Fatal glibc error|AddressSanitizer|LeakSanitizer|a system call its sandbox forbids'

# Every program of ours that a scenario starts in the background is tracked
# by name: its pid, the exit status it must end with and its log files. It
# is stopped and checked by stop_proc (SIGTERM) or wait_proc (it ends by
# itself); cleanup stops and checks whatever a scenario left running, so a
# crash at shutdown fails the scenario even when it failed earlier or
# never stopped the program itself.
declare -A PROC_PID=() PROC_WANT=() PROC_LOGS=()
PROC_RC=
proc_track() {	# name pid want-status log...
	PROC_PID[$1]=$2
	PROC_WANT[$1]=$3
	PROC_LOGS[$1]="${*:4}"
}
# Judges a tracked program that has ended with status $2: prints each
# problem and returns 1, or returns 0. Never exits (cleanup uses it).
proc_judge() {	# name status
	local name=$1 bad=0 f
	if [ "$2" != "${PROC_WANT[$name]}" ]; then
		printf '%s: FAIL: %s exited with status %s, expected %s\n' \
			"$SCENARIO" "$name" "$2" "${PROC_WANT[$name]}" >&2
		bad=1
	fi
	for f in ${PROC_LOGS[$name]}; do
		[ -f "$f" ] && grep -Eaq "$SANITIZER_RE" "$f" || continue
		printf '%s: FAIL: %s: sanitizer or glibc report in %s:\n%s\n' "$SCENARIO" \
			"$name" "$(basename "$f")" "$(grep -Ea -m3 "$SANITIZER_RE" "$f")" >&2
		bad=1
	done
	unset "PROC_PID[$name]"
	return "$bad"
}
# Ends a tracked program (signal, or none to let it finish); PROC_RC gets
# its exit status. Not in a subshell: only the parent can wait for it.
proc_end() {	# name [signal]
	local pid=${PROC_PID[$1]:?"$1 is not a tracked program"}
	[ -n "${2:-}" ] && kill "-$2" "$pid" 2>/dev/null
	PROC_RC=0
	wait "$pid" 2>/dev/null || PROC_RC=$?
}
stop_proc() {	# name: SIGTERM; it must exit as tracked, no sanitizer line
	proc_end "$1" TERM
	proc_judge "$1" "$PROC_RC" || fail "$1 did not end cleanly"
	log "ok: $1 ended with status $PROC_RC and no sanitizer report"
}
wait_proc() {	# name: waits for it to end by itself, then checks as stop_proc
	proc_end "$1"
	proc_judge "$1" "$PROC_RC" || fail "$1 did not end cleanly"
	log "ok: $1 ended with status $PROC_RC and no sanitizer report"
}
# A tracked program a scenario ends on purpose in a way that is not judged
# (kill -9 of mwgd to test crash recovery).
proc_forget() {	# name
	proc_end "$1"
	unset "PROC_PID[$1]"
}

cleanup() {
	local rc=$? name p
	local was=$rc
	trap - ERR
	set +e
	# mwgd first, so tunnels close before the programs behind them go.
	for name in mwgd "${!PROC_PID[@]}"; do
		[ -n "${PROC_PID[$name]:-}" ] || continue
		proc_end "$name" TERM
		proc_judge "$name" "$PROC_RC" || rc=1
	done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for p in "${AT_EXIT[@]}"; do eval "$p" || rc=1; done
	collect_for_secret_scan
	[ "$rc" -eq 0 ] && [ -n "$SKIPPED" ] && rc=$SKIP_STATUS
	# A failure found here (not by fail) has not shown the logs yet.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne "$SKIP_STATUS" ] &&
		{ [ "$was" -eq 0 ] || [ "$was" -eq "$SKIP_STATUS" ]; }; then
		dump_logs
	fi
	if { [ "$rc" -eq 0 ] || [ "$rc" -eq "$SKIP_STATUS" ]; } && [ -z "${MWG_KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "kept $T" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT

wait_port() {	# port: until something accepts on 127.0.0.1:port (5 s)
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

make_ca() {
	"$BIN/mwgctl" ca init --dir "$T/ca" --host 127.0.0.1 --host localhost >/dev/null
	chmod 755 "$T/ca"
	# mwgd drops to nobody; it must still read its key on reload.
	chgrp nogroup "$T/ca/server.key" 2>/dev/null || true
	chmod 640 "$T/ca/server.key"
}

# A device's key and, by default, a session certificate for alice on it
# (what tunnels need since login exists), written as $T/name.key and
# $T/name.pem. --device-only: a bare device certificate instead. Extra
# options go to mwg-testcert (e.g. --expired, --user bob, --group G).
make_device() {	# name [--device-only] [mwg-testcert options]
	local name=$1 who=(--user "${MWG_TEST_USER:-alice}" --group gp-clinicians); shift
	if [ "${1:-}" = --device-only ]; then who=(); shift; fi
	"$BIN/mwg-testcert" --ca-dir "$T/ca" --id "$name" --out "$T/$name" "${who[@]}" "$@"
}

# An enrolled device without EST: key, device certificate, and its row in
# the state store (mwgd must not be running yet). For login tests.
enrol_device() {	# name owner [--managed] [--practice P]
	local name=$1 owner=$2; shift 2
	mkdir -p "$T/state"
	"$BIN/mwg-testcert" --ca-dir "$T/ca" --id "$name" --out "$T/$name" \
		--store "$T/state" --owner "$owner" "$@"
	chown -R nobody:nogroup "$T/state" 2>/dev/null || true
}

# PAM and NSS for mwgd without touching /etc: pam_wrapper with pam_matrix
# (users and passwords in $T/passdb) and nss_wrapper (people and groups in
# $T/passwd and $T/group). Passwords are collected as secrets for 99-.
PAM_MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
MWGD_ENV=()
setup_identity() {	# "user:password:group,group" ...
	mkdir -p "$T/pam.d"
	printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
		"$PAM_MATRIX" "$T/passdb" "$PAM_MATRIX" "$T/passdb" >"$T/pam.d/mwg"
	: >"$T/pam.d/other"
	: >"$T/passdb"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$T/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$T/group"
	# mwgd's network process runs as mwg-net (deploy/deps.sh makes it).
	getent passwd mwg-net >>"$T/passwd" || true
	local uid=2000 spec user pw groups g
	declare -A members=()
	for spec in "$@"; do
		IFS=: read -r user pw groups <<<"$spec"
		printf '%s:%s:mwg\n' "$user" "$pw" >>"$T/passdb"
		collect_secret password "$pw"
		printf '%s:x:%d:%d:%s:/nonexistent:/usr/sbin/nologin\n' "$user" "$uid" "$uid" "$user" >>"$T/passwd"
		printf '%s:x:%d:\n' "$user" "$uid" >>"$T/group"
		for g in ${groups//,/ }; do members[$g]+="${members[$g]:+,}$user"; done
		uid=$((uid + 1))
	done
	local gid=3000
	for g in "${!members[@]}"; do
		printf '%s:x:%d:%s\n' "$g" "$gid" "${members[$g]}" >>"$T/group"
		gid=$((gid + 1))
	done
	chmod 644 "$T/passdb" "$T/passwd" "$T/group"
	local pre=libpam_wrapper.so:libnss_wrapper.so
	if ldd "$BIN/mwgd" | grep libasan >/dev/null; then pre="$(gcc -print-file-name=libasan.so):$pre"; fi
	MWGD_ENV=(PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" PAM_WRAPPER_DISABLE_DEEPBIND=1
		NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" LD_PRELOAD="$pre")
}

# A TOTP secret for user, made by mwgd (mwgctl totp enrol); sets TOTP_B32.
enrol_totp() {	# user
	TOTP_B32=$("$BIN/mwgctl" -s "$CTL" totp enrol "$1" --json | jq -r .secret)
	[ -n "$TOTP_B32" ] && [ "$TOTP_B32" != null ] || fail "totp enrol $1 gave no secret"
	collect_secret totp-secret "$TOTP_B32"
}
# Waits until the current TOTP step has at least 6 s left, so a code made
# now is judged against the same step (tests of the ±1 window need that).
totp_settle() {
	while [ $(( $(date +%s) % 30 )) -ge 24 ]; do sleep 1; done
}
# The code for TOTP_B32 now, or offset steps away (-1, +1, ...).
totp_code() {	# [steps]
	oathtool --totp -b "$TOTP_B32" -N "@$(( $(date +%s) + ${1:-0} * 30 ))"
}

# An enrolment code from mwgd (ID:SECRET on stdout); its secret, and the
# HTTP Basic token that carries it, are collected for the scan in 99-.
enrol_code_create() {	# mwgctl enrol-code create options...
	local c
	c=$("$BIN/mwgctl" -s "$CTL" enrol-code create "$@")
	[[ "$c" == *:* ]] || fail "enrol-code create gave '$c'"
	collect_secret enrolment-code "${c#*:}"
	collect_secret enrolment-code "$(printf '%s' "$c" | base64 -w0)"
	printf '%s\n' "$c"
}

write_policy() {	# extra text appended inside nothing: whole extra blocks
	cat >"$T/policy.conf" <<POLICY
# test policy for $SCENARIO
practice K84001 "Banbury Cross Health Centre" {
    target emis   127.0.0.1:$HTTP_PORT
    target echo   127.0.0.1:$ECHO_PORT
    target down   127.0.0.1:$DOWN_PORT
    target sink   127.0.0.1:$SINK_PORT
}
# Who may reach it: the test people, in the test groups, any target.
role staff {
    groups    gp-clinicians csu-it
    practices *
    targets   *
}
member alice { practices K84001 }
member bob   { practices K84001 }
${1:-}
POLICY
}

write_conf() {	# extra top-level lines
	mkdir -p "$T/state"
	chown nobody:nogroup "$T/state" 2>/dev/null || true
	cat >"$T/mwgd.conf" <<CONF
user nobody
group nogroup
state-dir $T/state
workers 2
policy $T/policy.conf
control $CTL
audit {
    file $AUDIT
    ${AUDIT_EXTRA:-}
}
listen tls $GW {
    certificate $T/ca/server.pem
    key         $T/ca/server.key
    ca          $T/ca/issuing.pem
    ca-key      $T/ca/issuing.key
    root        $T/ca/root.pem
}
${1:-}
CONF
}

start_backend() {	# mode port: tracked as backend-MODE, exit 0 on SIGTERM
	"$BIN/mwg-backend" --listen "127.0.0.1:$2" --mode "$1" >"$T/backend-$1.log" 2>&1 &
	proc_track "backend-$1" $! 0 "$T/backend-$1.log"
	wait_port "$2"
}

# MWGD_WRAP: a command that execs mwgd (e.g. prlimit --nofile=40:40).
MWGD_WRAP=()
start_mwgd() {
	env "${MWGD_ENV[@]}" ${MWGD_WRAP[@]+"${MWGD_WRAP[@]}"} "$BIN/mwgd" -d -f "$T/mwgd.conf" >"$T/mwgd.log" 2>&1 &
	MWGD_PID=$!
	proc_track mwgd "$MWGD_PID" 0 "$T/mwgd.log"
	wait_listening "$MWGD_PID" "$T/mwgd.log" mwgd
	wait_port "$GW_PORT"
}

# The port accepts from the bind on; "listening" comes after the privilege
# drop and the state store, when mwgd is really up (10 s at most).
wait_listening() {	# pid log name
	for _ in $(seq 200); do
		grep -q "listening on" "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || fail "$3 exited at start: $(tail -3 "$2")"
		sleep 0.05
	done
	fail "$3 did not start listening"
}

# Stops mwgd with SIGTERM; it must exit 0 with no sanitizer report.
stop_mwgd() {
	stop_proc mwgd
	MWGD_PID=
}

setup_default() {	# the usual: CA, one device, policy, conf, backends, mwgd
	make_ca
	make_device laptop-1
	write_policy
	write_conf "${1:-}"
	start_backend http "$HTTP_PORT"
	start_backend echo "$ECHO_PORT"
	start_mwgd
}

# curl through the gateway as an HTTPS proxy with a device certificate.
gw_curl() {	# device|- curl-args...
	local dev=$1; shift
	local certs=()
	[ "$dev" != - ] && certs=(--proxy-cert "$T/$dev.pem" --proxy-key "$T/$dev.key")
	curl -sS --max-time 10 -p -x "https://$GW" --proxy-cacert "$T/ca/root.pem" \
		"${certs[@]}" "$@"
}

# A raw request (stdin) over TLS as device (or - for none); the answer on
# stdout. s_client -quiet keeps reading after stdin ends, until mwgd closes.
gw_raw() {	# device|-
	local certs=()
	[ "$1" != - ] && certs=(-cert "$T/$1.pem" -key "$T/$1.key")
	timeout 10 openssl s_client -quiet -connect "$GW" -CAfile "$T/ca/root.pem" \
		"${certs[@]}" 2>/dev/null
}

# Opens a tunnel as device to target (name.practice:port) with s_client
# and reads the 200; then write to $tin, read from $tout.
open_tunnel() {	# device target [early bytes]
	local line
	coproc TUN { openssl s_client -quiet -connect "$GW" -CAfile "$T/ca/root.pem" \
		-cert "$T/$1.pem" -key "$T/$1.key" 2>/dev/null; }
	PIDS+=("$TUN_PID")
	exec {tin}>&"${TUN[1]}" {tout}<&"${TUN[0]}"
	printf 'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n%s' "$2" "$2" "${3:-}" >&"$tin"
	read -r -t 5 line <&"$tout" || fail "no answer to CONNECT $2"
	[ "$(tr -d '\r' <<<"$line")" = "HTTP/1.1 200 Connection established" ] ||
		fail "CONNECT $2 answered '$line'"
	read -r -t 5 _ <&"$tout"
}

# POST /v1/login with curl as device from source address src; prints the
# body, then the HTTP status on a line of its own.
gw_login() {	# device user password otp [src]
	jq -nc --arg u "$2" --arg p "$3" --arg o "$4" '{user:$u,password:$p,otp:$o}' |
		curl -sS --max-time 15 --cacert "$T/ca/root.pem" --cert "$T/$1.pem" \
			--key "$T/$1.key" --interface "${5:-127.0.0.1}" \
			-H 'Content-Type: application/json' --data-binary @- \
			-w '\n%{http_code}\n' "https://$GW/v1/login"
}

# Waits up to 5 s for a line matching an extended regex in a file that a
# program writes as it goes: the condition itself, never a guessed sleep.
wait_for_line() {	# file regex
	for _ in $(seq 100); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line matching /$2/ in $(basename "$1") within 5 s"
}

# Sends stdin as it is to mwgd's control socket and prints what comes back
# until mwgd closes (or 15 s pass), then "closed after N ms" on a line of
# its own: for requests mwgctl would never send.
ctl_raw() {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.sendall(sys.stdin.buffer.read())
s.settimeout(15)
got = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
        if got.endswith(b"\n"):
            break
except (socket.timeout, ConnectionResetError):
    pass
sys.stdout.write(got.decode("utf-8", "replace"))
print("closed after %d ms" % ((time.monotonic() - t0) * 1000))
' "$CTL"
}

# The audit records matching a jq condition, compact, one a line.
audit_select() { jq -c "select($1)" "$AUDIT"; }
audit_count() { audit_select "$1" | wc -l | tr -d ' '; }
# Waits up to 3 s for at least n records matching a condition.
audit_wait() {	# condition n
	for _ in $(seq 60); do
		[ "$(audit_count "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "audit: fewer than $2 records match $1"
}
