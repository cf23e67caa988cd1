#!/bin/bash
# bench/privsep.sh BEFORE_BUILD AFTER_BUILD: what privilege separation
# (issue 14) costs. Runs two builds of mwgd in turn, interleaved over
# rounds, on 127.0.0.1 with the gateway pinned to CPU 0 and every client on
# CPU 1, and measures full mutual-TLS handshakes/s and the gateway's CPU per
# handshake (bench/loadgen), login latency (curl POST /v1/login, PAM through
# pam_wrapper and TOTP from oathtool, a distinct person and device each) and
# EST enrolment latency (curl simpleenroll, a distinct code and key each).
# "Gateway CPU" is utime+stime of mwgd and all its descendants (the network
# process). Builds nothing; prints a table, writes bench/results/privsep.txt.
# Knobs (environment): PRIVBENCH_PORT_BASE (14400), PRIVBENCH_ROUNDS (5),
# PRIVBENCH_LOGINS (200), PRIVBENCH_ENROLS (100), PRIVBENCH_HS_SECONDS (6),
# PRIVBENCH_HS_CONC (32), PRIVBENCH_BUDGET (540 s: no round starts later),
# PRIVBENCH_AUDIT_DIR (the audit trail's parent directory, default the
# scratch directory on /tmp; e.g. /dev/shm takes fdatasync's wait away),
# PRIVBENCH_SETSID=0 (mwgd in the script's session; see bench_spawn_mwgd in lib.sh),
# PRIVBENCH_BEFORE_TLS / PRIVBENCH_AFTER_TLS (a line added to each build's
# listen tls block, e.g. "key-holder monitor": one binary, two settings),
# BENCH_KEEP=1 keeps the scratch directory. Needs root (mwgd drops to
# nobody; the after build's network process runs as mwg-net).
set -u

usage() { echo "usage: bench/privsep.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
declare -A BIN
for b in before after; do
	[ "$b" = before ] && d=$1 || d=$2
	BIN[$b]=$(cd "$d/bin" 2>/dev/null && pwd) || {
		echo "privsep: no $d/bin (make BUILD=$d all first)" >&2
		exit 1
	}
	for tool in mwgd mwgctl mwg-testcert loadgen mwg-backend; do
		[ -x "${BIN[$b]}/$tool" ] || { echo "privsep: ${BIN[$b]}/$tool missing" >&2; exit 1; }
	done
done
[ "$(id -u)" = 0 ] || { echo "privsep: run as root (mwgd drops to nobody)" >&2; exit 1; }
for tool in curl openssl oathtool taskset pgrep; do
	command -v "$tool" >/dev/null || { echo "privsep: $tool not installed" >&2; exit 1; }
done

PORT_BASE=${PRIVBENCH_PORT_BASE:-14400}
ROUNDS=${PRIVBENCH_ROUNDS:-5}
NLOGIN=${PRIVBENCH_LOGINS:-200}
NENROL=${PRIVBENCH_ENROLS:-100}
HS_SECONDS=${PRIVBENCH_HS_SECONDS:-6}
HS_CONC=${PRIVBENCH_HS_CONC:-32}
BUDGET=${PRIVBENCH_BUDGET:-540}
AUDIT_DIR=${PRIVBENCH_AUDIT_DIR:-}
P_GW=$PORT_BASE
P_ECHO=$((PORT_BASE + 1))
PRACTICE=K84001
# shellcheck disable=SC2034 # read by lib.sh
START_TIMEOUT=10
GW_CPU=0
LG_CPU=1
[ "$(nproc)" -lt 2 ] && LG_CPU=0
# shellcheck disable=SC2034 # read by lib.sh
BENCH_SETSID=${PRIVBENCH_SETSID:-1}

# shellcheck disable=SC2034 # read by lib.sh
BENCH_LOG_PREFIX=privsep
. "$HERE/lib.sh"
chmod 755 "$T"
if [ -n "$AUDIT_DIR" ]; then
	[ -d "$AUDIT_DIR" ] || { log "no directory $AUDIT_DIR"; exit 1; }
	mkdir -m 755 "$AUDIT_DIR/$(basename "$T")" || exit 1
	trap 'bench_cleanup; rm -rf "${AUDIT_DIR:?}/$(basename "$T")"' EXIT
fi

bench_ports_free "$P_GW" "$P_ECHO"

# ---- per build: a template state every round starts from -------------------

write_conf() {	# BUILD ROUND_DIR
	local ca=$T/$1/ca r=$2 extra=${PRIVBENCH_BEFORE_TLS:-}
	[ "$1" = after ] && extra=${PRIVBENCH_AFTER_TLS:-}
	cat >"$r/mwgd.conf" <<-EOF
	user nobody
	group nogroup
	state-dir $r/state
	workers 1
	policy $T/$1/policy.conf
	control $r/control.sock
	audit {
	    file $(audit_dir "$r")/audit.jsonl
	}
	$(bench_conf_limits)
	listen tls 127.0.0.1:$P_GW {
	    certificate $ca/server.pem
	    key         $ca/server.key
	    ca          $ca/issuing.pem
	    ca-key      $ca/issuing.key
	    root        $ca/root.pem
	    $extra
	}
	EOF
}

# The audit trail's directory for a round: in the round's directory, or
# under PRIVBENCH_AUDIT_DIR (removed with the scratch directory).
audit_dir() {	# ROUND_DIR
	if [ -n "$AUDIT_DIR" ]; then
		echo "$AUDIT_DIR/$(basename "$T")/$(basename "$(dirname "$1")")-$(basename "$1")"
	else
		echo "$1/log"
	fi
}

MWGD_PID=
start_mwgd() {	# BUILD ROUND_DIR
	local r=$2
	mkdir -p "$(audit_dir "$r")"
	chown nobody:nogroup "$(audit_dir "$r")"
	write_conf "$1" "$r"
	bench_spawn_mwgd "${BIN[$1]}/mwgd" "$r/mwgd.conf" "$r/mwgd.log" \
	    "$GW_CPU" 127.0.0.1 "$P_GW"
	MWGD_PID=$SPAWNED_PID
}

stop_mwgd() {	# ROUND_DIR: TERM; it must exit 0
	bench_stop "$MWGD_PID"
	[ "$STOPPED_RC" = 0 ] || NOTES+=("$(basename "$(dirname "$1")") $(basename "$1"): mwgd exited with status $STOPPED_RC")
	MWGD_PID=
}

ctl() {	# BUILD ROUND_DIR ARGS...
	local b=$1 r=$2
	shift 2
	timeout 20 "${BIN[$b]}/mwgctl" -s "$r/control.sock" "$@"
}

# The CA, one stored device per person (owner aliceI), the handshake
# client's session certificate, then mwgd once to import the TOTP secrets
# and make the enrolment codes; every round copies this state.
make_template() {	# BUILD
	local b=$1 d=$T/$1 i c
	mkdir -p "$d/dev" "$d/tpl/state"
	bench_ca "${BIN[$b]}" "$d/ca"
	chmod 755 "$d"
	for ((i = 1; i <= NLOGIN; i++)); do
		"${BIN[$b]}/mwg-testcert" --ca-dir "$d/ca" --id "dev-$i" \
		    --out "$d/dev/$i" --store "$d/tpl/state" --owner "alice$i" ||
		    die "$b: device $i"
	done
	chown -R nobody:nogroup "$d/tpl/state"
	bench_policy "$d/policy.conf"
	start_mwgd "$b" "$d/tpl"
	ctl "$b" "$d/tpl" totp import "$T/id/users.oath" >"$d/tpl/import.out" 2>&1 ||
	    die "$b: totp import: $(cat "$d/tpl/import.out")"
	: >"$d/codes"
	for ((i = 1; i <= NENROL; i++)); do
		c=$(ctl "$b" "$d/tpl" enrol-code create --user "alice$(( (i - 1) % NLOGIN + 1 ))" \
		    --practice "$PRACTICE" --label "bench $i" 2>/dev/null)
		[[ "$c" == *:* ]] || die "$b: enrol-code create gave '$c'"
		echo "$c" >>"$d/codes"
	done
	stop_mwgd "$d/tpl"
}

# ---- measurements -------------------------------------------------------------
declare -A V	# V[build.metric] = "value value ..." (one per round)
RAW=()
NOTES=()

keep() { V[$1.$2]="${V[$1.$2]:-} $3"; }

lg() {	# BUILD LIMIT ARGS...
	local b=$1 limit=$2
	shift 2
	timeout -k 5 "$limit" taskset -c "$LG_CPU" "${BIN[$b]}/loadgen" "$@" \
	    --cert "$T/$b/ca/client.pem" --key "$T/$b/ca/client.key" \
	    --ca "$T/$b/ca/root.pem" 2>>"$T/loadgen.err" | grep '^result' | tail -n 1
}

measure_handshakes() {	# BUILD ROUND
	local b=$1 n=$2 t0 t1 m0 m1 pids0 pids1 line ok busy
	local hs=(handshake --addr "127.0.0.1:$P_GW" --connect "echo.$PRACTICE:$P_ECHO" --probe)
	# Warm-up, not counted: first connections, lazy set-up in the gateway.
	lg "$b" 30 "${hs[@]}" --seconds 1 --concurrency 4 --label warmup >/dev/null
	pids0=$(tree_pids "$MWGD_PID")
	read -r t0 m0 < <(tree_ticks "$MWGD_PID")
	line=$(lg "$b" $((HS_SECONDS + 60)) "${hs[@]}" --seconds "$HS_SECONDS" \
	    --concurrency "$HS_CONC" --label "$b-r$n")
	read -r t1 m1 < <(tree_ticks "$MWGD_PID")
	pids1=$(tree_pids "$MWGD_PID")
	RAW+=("$b round $n handshake: $line gw_ticks=$((t1 - t0)) monitor_ticks=$((m1 - m0)) pids=[$pids1]")
	[ "$pids0" = "$pids1" ] || die "$b round $n: gateway processes changed during the handshakes ($pids0 -> $pids1)"
	ok=$(field "$line" ok)
	[ -n "$ok" ] && [ "$ok" -gt 0 ] || die "$b round $n: no handshake succeeded: $line"
	[ "$(field "$line" failed)" = 0 ] || die "$b round $n: $(field "$line" failed) handshakes failed: $line"
	keep "$b" hs "$(field "$line" per_s)"
	keep "$b" hs_cpu "$(ticks_us_per $((t1 - t0)) "$ok")"
	keep "$b" hs_child "$(share $((t1 - t0 - (m1 - m0))) $((t1 - t0)))"
	busy=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" \
	    -v s="$(field "$line" seconds)" 'BEGIN { printf "%.0f", t / hz / s * 100 }')
	keep "$b" hs_busy "$busy"
	[ "$busy" -ge 70 ] ||
	    NOTES+=("$b round $n: the gateway was busy only $busy % during the handshakes: not CPU-bound there (neighbours, or waiting), so that handshakes/s says little")
}

# Each person once, in order, from CPU 1: curl's time_total (TCP, full TLS
# handshake with the device certificate, the request and the answer) and
# time_total - time_appconnect (after the handshake: the login itself).
measure_logins() {	# BUILD ROUND_DIR ROUND
	local b=$1 r=$2 n=$3 i pw hex code out t0 t1 m0 m1 pids0
	: >"$r/login.total"
	: >"$r/login.after_hs"
	pids0=$(tree_pids "$MWGD_PID")
	read -r t0 m0 < <(tree_ticks "$MWGD_PID")
	i=0
	while read -r pw hex; do
		i=$((i + 1))
		code=$(oathtool --totp "$hex") || die "oathtool"
		out=$(printf '{"user":"alice%d","password":"%s","otp":"%s"}' "$i" "$pw" "$code" |
		    taskset -c "$LG_CPU" curl -sS --max-time 10 \
		    --cacert "$T/$b/ca/root.pem" --cert "$T/$b/dev/$i.pem" \
		    --key "$T/$b/dev/$i.key" -H 'Content-Type: application/json' \
		    --data-binary @- -o "$r/login.body" \
		    -w '%{http_code} %{time_appconnect} %{time_total}' \
		    "https://127.0.0.1:$P_GW/v1/login" 2>&1)
		set -- $out
		[ "${1:-}" = 200 ] || die "$b round $n: login $i answered '$out': $(head -c 300 "$r/login.body")"
		grep -q 'BEGIN CERTIFICATE' "$r/login.body" ||
		    die "$b round $n: login $i: 200 without a certificate"
		echo "$3" >>"$r/login.total"
		awk -v a="$2" -v t="$3" 'BEGIN { printf "%.6f\n", t - a }' >>"$r/login.after_hs"
	done <"$T/id/logins"
	read -r t1 m1 < <(tree_ticks "$MWGD_PID")
	[ "$pids0" = "$(tree_pids "$MWGD_PID")" ] || die "$b round $n: gateway processes changed during the logins"
	keep "$b" login_p50 "$(ms "$(pct "$r/login.total" 50)")"
	keep "$b" login_p99 "$(ms "$(pct "$r/login.total" 99)")"
	keep "$b" login_srv_p50 "$(ms "$(pct "$r/login.after_hs" 50)")"
	keep "$b" login_srv_p99 "$(ms "$(pct "$r/login.after_hs" 99)")"
	keep "$b" login_cpu "$(ticks_us_per $((t1 - t0)) "$i")"
	keep "$b" login_child "$(share $((t1 - t0 - (m1 - m0))) $((t1 - t0)))"
	RAW+=("$b round $n login: n=$i total_s p50=$(pct "$r/login.total" 50) p99=$(pct "$r/login.total" 99) max=$(pct "$r/login.total" 100) after_hs_s p50=$(pct "$r/login.after_hs" 50) p99=$(pct "$r/login.after_hs" 99) gw_ticks=$((t1 - t0)) monitor_ticks=$((m1 - m0))")
}

measure_enrols() {	# BUILD ROUND_DIR ROUND
	local b=$1 r=$2 n=$3 j code out t0 t1 m0 m1 pids0
	: >"$r/enrol.total"
	: >"$r/enrol.after_hs"
	pids0=$(tree_pids "$MWGD_PID")
	read -r t0 m0 < <(tree_ticks "$MWGD_PID")
	j=0
	while read -r code; do
		j=$((j + 1))
		out=$(taskset -c "$LG_CPU" curl -sS --max-time 10 \
		    --cacert "$T/$b/ca/root.pem" -u "$code" \
		    -H 'Content-Type: application/pkcs10' \
		    --data-binary @"$T/csr/$j.b64" -o "$r/enrol.body" \
		    -w '%{http_code} %{time_appconnect} %{time_total}' \
		    "https://127.0.0.1:$P_GW/.well-known/est/simpleenroll" 2>&1)
		set -- $out
		[ "${1:-}" = 200 ] || die "$b round $n: enrolment $j answered '$out': $(head -c 300 "$r/enrol.body")"
		[ -s "$r/enrol.body" ] || die "$b round $n: enrolment $j: 200 with an empty body"
		echo "$3" >>"$r/enrol.total"
		awk -v a="$2" -v t="$3" 'BEGIN { printf "%.6f\n", t - a }' >>"$r/enrol.after_hs"
	done <"$T/$b/codes"
	# The last answer must be a certificate for the last CSR's key.
	openssl base64 -d -in "$r/enrol.body" | openssl pkcs7 -inform DER \
	    -print_certs 2>/dev/null | openssl x509 -noout -pubkey >"$r/enrol.pub" 2>/dev/null
	[ "$(cat "$r/enrol.pub")" = "$(openssl pkey -in "$T/csr/$j.key" -pubout)" ] ||
	    die "$b round $n: the last enrolment's certificate is not for its key"
	read -r t1 m1 < <(tree_ticks "$MWGD_PID")
	[ "$pids0" = "$(tree_pids "$MWGD_PID")" ] || die "$b round $n: gateway processes changed during the enrolments"
	keep "$b" enrol_p50 "$(ms "$(pct "$r/enrol.total" 50)")"
	keep "$b" enrol_p99 "$(ms "$(pct "$r/enrol.total" 99)")"
	keep "$b" enrol_srv_p50 "$(ms "$(pct "$r/enrol.after_hs" 50)")"
	keep "$b" enrol_srv_p99 "$(ms "$(pct "$r/enrol.after_hs" 99)")"
	keep "$b" enrol_cpu "$(ticks_us_per $((t1 - t0)) "$j")"
	keep "$b" enrol_child "$(share $((t1 - t0 - (m1 - m0))) $((t1 - t0)))"
	RAW+=("$b round $n enrol: n=$j total_s p50=$(pct "$r/enrol.total" 50) p99=$(pct "$r/enrol.total" 99) max=$(pct "$r/enrol.total" 100) after_hs_s p50=$(pct "$r/enrol.after_hs" 50) p99=$(pct "$r/enrol.after_hs" 99) gw_ticks=$((t1 - t0)) monitor_ticks=$((m1 - m0))")
}

# Who runs: every process of the gateway with its user and CPU list.
describe_tree() {	# BUILD
	local p
	for p in $(descendants "$MWGD_PID"); do
		printf '%s pid %s user %s cpus %s: %s\n' "$1" "$p" \
		    "$(ps -o user= -p "$p")" "$(taskset -pc "$p" | sed 's/.*: //')" \
		    "$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c 1-60)"
	done
}

round_of() {	# BUILD ROUND
	local b=$1 n=$2 r=$T/$1/r$2
	mkdir -p "$r"
	cp -a "$T/$b/tpl/state" "$r/state"
	start_mwgd "$b" "$r"
	[ "$n" = 1 ] && TREE+=("$(describe_tree "$b")")
	if [ "$b" = after ] && [ "$(descendants "$MWGD_PID" | wc -l)" -lt 2 ]; then
		sleep 1	# the network process may still be starting
		[ "$(descendants "$MWGD_PID" | wc -l)" -ge 2 ] ||
		    NOTES+=("after round $n: mwgd has no child process")
	fi
	measure_handshakes "$b" "$n"
	measure_logins "$b" "$r" "$n"
	measure_enrols "$b" "$r" "$n"
	stop_mwgd "$r"
}

# ---- the table -----------------------------------------------------------------
METRICS="hs hs_busy hs_cpu hs_child login_p50 login_p99 login_srv_p50
login_srv_p99 login_cpu login_child enrol_p50 enrol_p99 enrol_srv_p50
enrol_srv_p99 enrol_cpu enrol_child"
declare -A LABEL=(
	[hs]="full handshakes/s ($HS_CONC conc, $HS_SECONDS s)"
	[hs_busy]="  gateway CPU busy % meanwhile"
	[hs_cpu]="gateway CPU us per handshake"
	[hs_child]="  % of it in the network process"
	[login_p50]="login p50 ms (curl total)"
	[login_p99]="login p99 ms (curl total)"
	[login_srv_p50]="  login p50 ms after the handshake"
	[login_srv_p99]="  login p99 ms after the handshake"
	[login_cpu]="gateway CPU us per login (incl. TLS)"
	[login_child]="  % of it in the network process"
	[enrol_p50]="enrolment p50 ms (curl total)"
	[enrol_p99]="enrolment p99 ms (curl total)"
	[enrol_srv_p50]="  enrolment p50 ms after the handshake"
	[enrol_srv_p99]="  enrolment p99 ms after the handshake"
	[enrol_cpu]="gateway CPU us per enrolment (incl. TLS)"
	[enrol_child]="  % of it in the network process"
)
# after/before of each round (the two ran next to each other in time, so
# a slow spell of the machine hits both): one ratio a line.
paired() {	# METRIC
	local a=(${V[after.$1]:-}) b=(${V[before.$1]:-}) i
	for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
		ratio "${a[$i]}" "${b[$i]}"
	done | grep -v n/a
}

table() {
	local m mb ma p
	printf '%-40s %8s %-15s %8s %-15s %7s %s\n' "metric (median of rounds [range])" \
	    before "" after "" aft/bef "paired aft/bef"
	for m in $METRICS; do
		# shellcheck disable=SC2086
		mb=$(median ${V[before.$m]:-}) ma=$(median ${V[after.$m]:-})
		p=$(paired "$m")
		# shellcheck disable=SC2086
		printf '%-40s %8s %-15s %8s %-15s %7s %s\n' "${LABEL[$m]}" \
		    "${mb:-n/a}" "[$(spread ${V[before.$m]:-})]" "${ma:-n/a}" \
		    "[$(spread ${V[after.$m]:-})]" "$(ratio "$ma" "$mb")" \
		    "${p:+$(median $p) [$(spread $p)]}"
	done
}

# ---- run ---------------------------------------------------------------------------
TREE=()
log "identity for $NLOGIN people, $NENROL CSRs"
bench_identity "$NLOGIN"
bench_csrs "$NENROL"
taskset -c "$LG_CPU" "${BIN[after]}/mwg-backend" --listen "127.0.0.1:$P_ECHO" \
    --mode echo >"$T/backend-echo.log" 2>&1 &
PIDS+=("$!")
wait_listen "$P_ECHO" $! || die "echo backend did not start"
for b in before after; do
	log "$b: CA, $NLOGIN devices, TOTP secrets, $NENROL codes"
	make_template "$b"
done
log "set-up took ${SECONDS} s"
DONE=0
for ((n = 1; n <= ROUNDS; n++)); do
	if [ "$n" -gt 1 ] && [ "$SECONDS" -gt "$BUDGET" ]; then
		log "over $BUDGET s: stopping after $DONE rounds"
		NOTES+=("stopped after $DONE of $ROUNDS rounds (time budget)")
		break
	fi
	# Alternate which build goes first, so neither always follows the other.
	if [ $((n % 2)) = 1 ]; then order="before after"; else order="after before"; fi
	for b in $order; do
		log "round $n/$ROUNDS: $b"
		round_of "$b" "$n"
	done
	DONE=$n
done

mkdir -p "$HERE/results"
{
	echo "mwg privilege separation cost (bench/privsep.sh), $(date -u +%Y-%m-%dT%H:%MZ)"
	for b in before after; do
		echo "$b: ${BIN[$b]%/bin} (last commit outside bench/: $(git -C "${BIN[$b]}" log -1 --format=%h -- ':(top)' ':(exclude,top)bench' 2>/dev/null || echo "?"))"
	done
	echo "host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1), Linux $(uname -r)," \
	    "load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
	echo "gateway on CPU $GW_CPU (mwgd and its children); loadgen, curl, backend on CPU $LG_CPU"
	[ "${PRIVBENCH_SETSID:-1}" = 0 ] && echo "mwgd NOT in its own session (PRIVBENCH_SETSID=0)"
	echo "audit trail in $(audit_dir "$T/before/r1") ($(df --output=fstype "$(audit_dir "$T/before/r1")" 2>/dev/null | tail -n 1 || echo '?'))"
	echo "$DONE rounds, builds interleaved; $NLOGIN logins and $NENROL enrolments per round,"
	echo "sequential, each a new curl process (new TCP + full TLS handshake); every one answered 200"
	for line in "${TREE[@]}"; do printf '%s\n' "$line"; done
	echo
	table
	echo
	echo "gateway CPU = utime+stime of mwgd and all its descendants, from /proc (1 tick = $((1000000 / CLK_TCK)) us)."
	echo "'after the handshake' = curl time_total - time_appconnect (request, work, answer)."
	echo "The machine is shared (other agents): the ranges are the spread over rounds;"
	echo "'paired' is the median [range] of each round's after/before (run back to back)."
	for line in "${NOTES[@]}"; do echo "note: $line"; done
	echo
	echo "per round (in run order):"
	for m in $METRICS; do
		printf '  %-10s before:%s  after:%s\n' "$m" "${V[before.$m]:-}" "${V[after.$m]:-}"
	done
	echo
	echo "raw:"
	for line in "${RAW[@]}"; do printf '  %s\n' "$line"; done
} >"$T/report.txt"
cp "$T/report.txt" "$HERE/results/privsep.txt"
cat "$T/report.txt"
if [ -s "$T/loadgen.err" ]; then
	log "loadgen errors (first 10 of $(wc -l <"$T/loadgen.err")):"
	head -n 10 "$T/loadgen.err" >&2
fi
