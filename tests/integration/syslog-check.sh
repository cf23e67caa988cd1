#!/usr/bin/env bash
# Audit forwarding to a SIEM (issue 7, point 6) against a real rsyslogd on
# 127.0.0.1: UDP, TCP and TLS deliver every record once, in order, byte for
# byte, with the structured data a SIEM parses; a collector that is down,
# a rotation, a forwarder restart and a forwarder crash lose nothing.
# Drives the forwarder through tests/tools/mwg-audit-forward (no mwgd).
# Usage: tests/integration/syslog-check.sh BUILD_DIR
set -Eeuo pipefail
trap 'fail "line $LINENO: \"$BASH_COMMAND\" failed"' ERR

BUILD=$(cd "${1:?usage: syslog-check.sh BUILD_DIR}" && pwd)
FWD=$BUILD/bin/mwg-audit-forward
T=$(mktemp -d /tmp/mwg-syslog.XXXXXX)
# Scenario 19's block of ports (common.sh), so MWG_PORT_BASE moves them too.
SYSLOG_BASE=$(( ${MWG_PORT_BASE:-21000} + 19 * 20 + 14 ))
UDP_PORT=$SYSLOG_BASE
TCP_PORT=$((SYSLOG_BASE + 1))
TLS_PORT=$((SYSLOG_BASE + 2))
BATCH=256		# FWD_BATCH_RECORDS in audit/audit_syslog.c
RS_PID=
FWD_PID=

log() { printf 'syslog-check: %s\n' "$*"; }
fail() {
	printf 'syslog-check: FAIL: %s\n' "$*" >&2
	for f in "$T"/*.log "$T"/*.err; do
		[ -s "$f" ] && { echo "--- $f"; tail -15 "$f"; } >&2
	done
	exit 1
}

cleanup() {
	local rc=$?
	[ -n "$FWD_PID" ] && kill -KILL "$FWD_PID" 2>/dev/null
	[ -n "$RS_PID" ] && kill -TERM "$RS_PID" 2>/dev/null
	wait 2>/dev/null || true
	if [ "$rc" -eq 0 ] && [ -z "${MWG_KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

command -v rsyslogd >/dev/null || fail "rsyslogd not installed (deploy/deps.sh test)"
[ -x "$FWD" ] || fail "$FWD not built"

# ---- a collector -------------------------------------------------------
# A throwaway CA and a collector certificate for 127.0.0.1 only.
make_certs() {
	local d=$T/pki ext=$T/pki/ext
	mkdir -p "$d"
	for ca in ca other-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/$ca.key" -out "$d/$ca.pem" -days 2 -subj "/CN=test $ca" 2>/dev/null
	done
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/collector.key" -out "$d/collector.csr" -subj /CN=collector 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$ext"
	openssl x509 -req -in "$d/collector.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/collector.pem" -days 2 -extfile "$ext" 2>/dev/null
}

# rsyslogd config: one input, mmpstrucdata to parse our SD as a SIEM would,
# and every mwgd message as one JSON object a line in $T/NAME.out.
# maxMessageSize: rsyslog's default (8 KiB) is below what we send.
write_conf() {	# name proto
	local name=$1 proto=$2 input
	case $proto in
	udp) input="module(load=\"imudp\")
input(type=\"imudp\" address=\"127.0.0.1\" port=\"$UDP_PORT\" rcvbufSize=\"4m\")" ;;
	tcp) input="module(load=\"imtcp\")
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$TCP_PORT\")" ;;
	tls) input="module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$TLS_PORT\")" ;;
	esac
	cat >"$T/$name.conf" <<EOF
global(workDirectory="$T/rs-$name" maxMessageSize="64k"
	DefaultNetstreamDriverCAFile="$T/pki/ca.pem"
	DefaultNetstreamDriverCertFile="$T/pki/collector.pem"
	DefaultNetstreamDriverKeyFile="$T/pki/collector.key")
$input
module(load="mmpstrucdata")
template(name="json" type="string" string="%\$!%\\n")
template(name="t" type="string" string="%timereported:::date-rfc3339%")
if \$app-name == "mwgd" then {
	action(type="mmpstrucdata")
	set \$!pri = \$pri;
	set \$!msgid = \$msgid;
	set \$!app = \$app-name;
	set \$!time = exec_template("t");
	set \$!msg = \$msg;
	action(type="omfile" file="$T/$name.out" template="json")
} else {
	action(type="omfile" file="$T/$name.rsyslog-internal.log")
}
EOF
	mkdir -p "$T/rs-$name"
}

# A socket bound to 127.0.0.1:port (UDP) or listening there (TCP, state 0A).
listening() {	# proto port
	local addr
	addr=$(printf '0100007F:%04X 00000000:0000' "$2")
	if [ "$1" = udp ]; then
		grep -q " $addr 07 " /proc/net/udp
	else
		grep -q " $addr 0A " /proc/net/tcp
	fi
}

rs_start() {	# name proto
	local port
	case $2 in udp) port=$UDP_PORT ;; tcp) port=$TCP_PORT ;; tls) port=$TLS_PORT ;; esac
	rm -f "$T/$1.pid"
	rsyslogd -n -f "$T/$1.conf" -i "$T/$1.pid" >>"$T/$1.rsyslogd.log" 2>&1 &
	RS_PID=$!
	for _ in $(seq 100); do
		listening "$2" "$port" && return 0
		kill -0 "$RS_PID" 2>/dev/null || fail "rsyslogd $1 did not start"
		sleep 0.1
	done
	fail "rsyslogd $1 does not listen on $port"
}

rs_stop() {
	kill -TERM "$RS_PID"
	wait "$RS_PID" 2>/dev/null || true
	RS_PID=
}

# ---- the forwarder -----------------------------------------------------
fwd_start() {	# name url [--ca CA]; follows $T/NAME.jsonl
	local name=$1 url=$2
	shift 2
	"$FWD" "$@" --seconds 120 "$url" "$T/$name.jsonl" "$T/$name.state" \
		>>"$T/$name.fwd.out" 2>>"$T/$name.fwd.err" &
	FWD_PID=$!
}

fwd_stop() {
	kill -TERM "$FWD_PID"
	wait "$FWD_PID" || fail "forwarder exited with $?"
	FWD_PID=
}

write() {	# file n [start]
	"$FWD" --write "$2" ${3:+--start "$3"} "$1"
}

# ---- checks ------------------------------------------------------------
# Each line rsyslog stored, checked against the record it carries: SD seq,
# action, user, target and hash, MSGID, APP-NAME, TIMESTAMP and PRI
# (auth.notice 85 for success, auth.warning 84 otherwise). Prints
# "SEQ<TAB>MSG" for each.
received() {	# name
	[ -f "$T/$1.out" ] || return 0
	jq -r '.["rfc5424-sd"]["mwg@32473"] as $sd | (.msg | fromjson) as $r |
		if $sd.seq == ($r.seq | tostring) and $sd.action == $r["event.action"]
		   and $sd.outcome == $r["event.outcome"] and $sd.user == $r["user.name"]
		   and $sd.device == $r["device.id"] and $sd.practice == $r["organization.id"]
		   and $sd.target == $r["destination.address"] and $sd.source == $r["source.ip"]
		   and $sd.hash == $r.hash and .msgid == $r["event.action"] and .app == "mwgd"
		   and .time == $r["@timestamp"]
		   and .pri == (if $r["event.outcome"] == "success" then "85" else "84" end)
		then "\($r.seq)\t\(.msg)" else error("SD does not match MSG: \(.)") end' \
		"$T/$1.out"
}

last_seq() {	# name: of the last record stored (in order: all before it too)
	tail -n 1 "$T/$1.out" 2>/dev/null | jq -r '.msg | fromjson | .seq' 2>/dev/null || echo 0
}

wait_for() {	# name seq
	for _ in $(seq 300); do
		[ "$(last_seq "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: the collector got up to seq $(last_seq "$1"), not $2"
}

# Every record of the files, in order, byte for byte; a record seen again
# must be a resend of one already delivered (seq not above the highest
# seen) and there may be at most max_dups of them. Prints the dup count.
check_delivery() {	# name max_dups file...
	local name=$1 max=$2 dups
	shift 2
	received "$name" | awk -F '\t' -v dupfile="$T/$name.dups" '
		BEGIN { top = 0; dups = 0 }
		{
			s = $1 + 0; m = substr($0, length($1) + 2)
			if (s <= top) {
				if (seen[s] != m) { print "seq " s " resent changed" > "/dev/stderr"; exit 1 }
				dups++; next
			}
			if (top && s != top + 1) { print "gap after seq " top ": " s > "/dev/stderr"; exit 1 }
			top = s; seen[s] = m; print m
		}
		END { print dups > dupfile }' >"$T/$name.got" ||
		fail "$name: records out of order or missing"
	cat "$@" >"$T/$name.want"
	cmp -s "$T/$name.want" "$T/$name.got" ||
		fail "$name: delivered records differ from the audit file ($(wc -l <"$T/$name.got") of $(wc -l <"$T/$name.want"))"
	dups=$(cat "$T/$name.dups")
	[ "$dups" -le "$max" ] || fail "$name: $dups duplicates (at most $max allowed)"
	log "ok: $name: $(wc -l <"$T/$name.want") records in order, exact, $dups duplicates"
}

# ---- scenarios ---------------------------------------------------------
# Each protocol delivers every record once, in order; more than one batch.
scenario_plain() {	# proto n [--ca CA]
	local proto=$1 n=$2 name=$1 port
	shift 2
	case $proto in udp) port=$UDP_PORT ;; tcp) port=$TCP_PORT ;; tls) port=$TLS_PORT ;; esac
	write_conf "$name" "$proto"
	rs_start "$name" "$proto"
	write "$T/$name.jsonl" $((n / 2))
	fwd_start "$name" "$proto://127.0.0.1:$port" "$@"
	write "$T/$name.jsonl" $((n - n / 2))
	wait_for "$name" "$n"
	fwd_stop
	rs_stop
	grep -q "^sent $n connected 1$" "$T/$name.fwd.out" ||
		fail "$name: forwarder says $(cat "$T/$name.fwd.out")"
	check_delivery "$name" 0 "$T/$name.jsonl"
}

# The collector's certificate is checked: its CA and its name.
scenario_tls_refused() {
	local name=tls-refused
	write_conf "$name" tls
	rs_start "$name" tls
	write "$T/$name.jsonl" 10
	"$FWD" --ca "$T/pki/other-ca.pem" --seconds 2 "tls://127.0.0.1:$TLS_PORT" \
		"$T/$name.jsonl" "$T/$name.state" >"$T/$name.ca.out" 2>"$T/$name.ca.err"
	grep -q "certificate not accepted" "$T/$name.ca.err" || fail "$name: wrong CA accepted"
	"$FWD" --ca "$T/pki/ca.pem" --seconds 2 "tls://localhost:$TLS_PORT" \
		"$T/$name.jsonl" "$T/$name.state" >"$T/$name.name.out" 2>"$T/$name.name.err"
	grep -q "certificate not accepted" "$T/$name.name.err" || fail "$name: wrong name accepted"
	rs_stop
	[ ! -s "$T/$name.out" ] || fail "$name: records went to an unverified collector"
	grep -q "^sent 0 connected 0$" "$T/$name.ca.out" "$T/$name.name.out"
	log "ok: TLS refuses a collector with another CA and one not named as asked"
}

# Collector down: records wait in the file and arrive when it is back.
# TCP has no application acknowledgement: a batch counts as delivered once
# the collector's TCP acknowledged all of it, and a lost connection resends
# from the last delivered place, so up to one batch (256) may come twice.
# UDP catches up here only because loopback answers ICMP port unreachable
# at once (the next send fails); across a network UDP is best effort.
scenario_down() {	# proto [--ca CA]
	local proto=$1 name=$1-down port
	shift
	case $proto in udp) port=$UDP_PORT ;; tcp) port=$TCP_PORT ;; tls) port=$TLS_PORT ;; esac
	write_conf "$name" "$proto"
	rs_start "$name" "$proto"
	write "$T/$name.jsonl" 300
	fwd_start "$name" "$proto://127.0.0.1:$port" "$@"
	wait_for "$name" 300
	rs_stop
	write "$T/$name.jsonl" 200
	sleep 1.5
	write "$T/$name.jsonl" 200
	sleep 1
	kill -0 "$FWD_PID" || fail "$name: forwarder died with the collector down"
	grep -q "records after seq" "$T/$name.fwd.err" || fail "$name: the outage was not logged"
	rs_start "$name" "$proto"
	wait_for "$name" 700
	fwd_stop
	rs_stop
	check_delivery "$name" "$BATCH" "$T/$name.jsonl"
}

# Rotation mid-stream: the old file is read to its end (records the writer
# added just before it renamed), then the new one.
scenario_rotate() {
	local name=rotate a
	a=$T/$name.jsonl
	write_conf "$name" tcp
	rs_start "$name" tcp
	write "$a" 300
	fwd_start "$name" "tcp://127.0.0.1:$TCP_PORT"
	wait_for "$name" 300
	mv "$a" "$a.20261125T100000Z"
	write "$a.20261125T100000Z" 100
	write "$a" 250 401
	wait_for "$name" 650
	fwd_stop
	rs_stop
	check_delivery "$name" 0 "$a.20261125T100000Z" "$a"
}

# A restart resumes from the state file even after two rotations while the
# forwarder was stopped.
scenario_restart() {
	local name=restart a
	a=$T/$name.jsonl
	write_conf "$name" tcp
	rs_start "$name" tcp
	write "$a" 100
	fwd_start "$name" "tcp://127.0.0.1:$TCP_PORT"
	wait_for "$name" 100
	fwd_stop
	write "$a" 50
	mv "$a" "$a.20261125T110000Z"
	write "$a" 50 151
	mv "$a" "$a.20261125T120000Z"
	write "$a" 50 201
	fwd_start "$name" "tcp://127.0.0.1:$TCP_PORT"
	wait_for "$name" 250
	fwd_stop
	rs_stop
	check_delivery "$name" 0 "$a.20261125T110000Z" "$a.20261125T120000Z" "$a"
}

# kill -9 of the forwarder while a stalled collector (SIGSTOP: its TCP
# window fills) has not acknowledged what was written: the restarted
# forwarder resends the unacknowledged batch, at most 256 records twice.
scenario_crash() {
	local name=crash a
	a=$T/$name.jsonl
	write_conf "$name" tcp
	rs_start "$name" tcp
	write "$a" 100
	fwd_start "$name" "tcp://127.0.0.1:$TCP_PORT"
	wait_for "$name" 100
	kill -STOP "$RS_PID"
	write "$a" 20000
	sleep 1.5
	kill -KILL "$FWD_PID"
	wait "$FWD_PID" 2>/dev/null || true
	kill -CONT "$RS_PID"
	fwd_start "$name" "tcp://127.0.0.1:$TCP_PORT"
	wait_for "$name" 20100
	fwd_stop
	rs_stop
	[ "$(awk '{print $2}' "$T/$name.fwd.out")" -gt 0 ] ||
		fail "$name: the crash came after everything was delivered"
	check_delivery "$name" "$BATCH" "$a"
}

make_certs
scenario_plain udp 300
scenario_plain tcp 1000
scenario_plain tls 1000 --ca "$T/pki/ca.pem"
scenario_tls_refused
scenario_down udp
scenario_down tcp
scenario_down tls --ca "$T/pki/ca.pem"
scenario_rotate
scenario_restart
scenario_crash
log "all passed"
