# Shared by the benchmark scripts in bench/ (sourced, not run): the
# scratch directory and the processes a benchmark starts, stopped on exit,
# waiting for a listener, a process tree's CPU, percentiles and medians,
# and the people, keys and mwgd start-up of the login and enrolment
# benchmarks (privsep.sh, nodes.sh). The sourcing script sets
# START_TIMEOUT and BENCH_LOG_PREFIX first, and may set
# BENCH_EXTRA_PIDS_FN to a function that prints more pids to stop (sshd's
# connection processes).

log() { printf '%s: %s\n' "${BENCH_LOG_PREFIX:-bench}" "$*" >&2; }

T=$(mktemp -d "/tmp/mwg-${BENCH_LOG_PREFIX:-bench}.XXXXXX")
PIDS=()

# Stops what we started, by pid: TERM, up to 5 s to go, then KILL.
bench_cleanup() {
	local pid i extra=()
	[ -n "${BENCH_EXTRA_PIDS_FN:-}" ] && extra=($("$BENCH_EXTRA_PIDS_FN"))
	for pid in "${PIDS[@]}" "${extra[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept $T"
	else
		rm -rf "$T"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Every descriptor we may get: 1,000 idle tunnels need 2,000 in a gateway.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# bench_listening PORT [ADDR]: whether something listens on ADDR:PORT
# (any IPv4 address unless told). Reads /proc: no connection is made.
bench_listening() {
	local a re=".*"
	if [ -n "${2:-}" ]; then
		# /proc/net/tcp writes the IPv4 address as a host-order
		# (little endian) word: 127.0.0.2 is 0200007F.
		IFS=. read -r -a a <<<"$2"
		re=$(printf '%02X%02X%02X%02X' "${a[3]}" "${a[2]}" "${a[1]}" "${a[0]}")
	fi
	awk -v p="^$re$(printf ':%04X' "$1")\$" '$2 ~ p && $4 == "0A" { f = 1 }
	    END { exit !f }' /proc/net/tcp
}

# bench_ports_free PORT...: dies naming the first one in use.
bench_ports_free() {
	local p
	for p in "$@"; do
		! bench_listening "$p" ||
		    die "port $p is in use: set the script's port base to a free range"
	done
}

# wait_listen PORT PID [ADDR]: until something listens on ADDR:PORT
# (127.0.0.1 unless told), or PID dies, or START_TIMEOUT passes.
wait_listen() {
	local i
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		bench_listening "$1" "${3:-127.0.0.1}" && return 0
		sleep 0.1
	done
	return 1
}

die() { log "FAILED: $*"; exit 1; }

# ---- CPU of a process tree ---------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
descendants() {	# PID: PID and every descendant, one a line
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do descendants "$c"; done
}
tree_pids() { descendants "$1" | sort -n | tr '\n' ' '; }
tree_ticks() {	# PID: utime+stime (clock ticks) of the tree, then of PID alone
	local p s=0 v top=0
	for p in $(descendants "$1"); do
		# Fields after the last ')': state is 3, utime 14, stime 15.
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }') || continue
		[ -n "$v" ] || continue
		s=$((s + v))
		[ "$p" = "$1" ] && top=$v
	done
	echo "$s $top"
}
# PID: Private_Clean + Private_Dirty (KiB) of the tree: mwgd's network
# process holds the tunnels, its monitor is the parent.
tree_private_kib() {
	local p
	for p in $(descendants "$1"); do
		cat "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }'
}
share() {	# PART WHOLE: PART as a percentage of WHOLE
	awk -v p="$1" -v w="$2" 'BEGIN { if (w > 0) printf "%.0f", p * 100 / w; else print "n/a" }'
}
ticks_us_per() {	# TICKS COUNT: microseconds per operation
	awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" \
	    'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "n/a" }'
}

# ---- numbers -----------------------------------------------------------------
pct() {	# FILE P: nearest-rank percentile of the numbers in FILE
	sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 }
	    END { if (!NR) { print "n/a"; exit } i = int(NR * p / 100 + 0.999999);
	    if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'
}
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s-%s", lo, hi }'; }
ratio() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		num = "^[0-9]+([.][0-9]+)?$"
		if (a !~ num || b !~ num || b <= 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# ---- people, keys and mwgd for the login and enrolment benchmarks -----------
# bench_ca MWGCTL_DIR DIR: a CA from `mwgctl ca init` whose server
# certificate names every test address, the server key readable by
# mwgd's group, and DIR/client.{pem,key}: a session certificate for
# bench (group bench) that opens tunnels without a login.
bench_ca() {
	"$1/mwgctl" ca init --dir "$2" --host 127.0.0.1 --host 127.0.0.2 \
	    --host 127.0.0.3 --host localhost >"$2.log" 2>&1 ||
	    die "ca init: $(tail -n 1 "$2.log")"
	chmod 755 "$2"
	chgrp nogroup "$2/server.key" && chmod 640 "$2/server.key"
	"$1/mwg-testcert" --ca-dir "$2" --id bench-1 --user bench \
	    --group bench --out "$2/client" || die "handshake client cert"
}

# bench_policy FILE: one practice with the echo backend (P_ECHO), open
# to group bench (the handshake client) and gp-clinicians (the people).
bench_policy() {
	cat >"$1" <<-EOF
	practice ${PRACTICE:-K84001} "Bench practice" {
	    target echo 127.0.0.1:$P_ECHO
	}
	role bench {
	    groups    bench gp-clinicians
	    practices *
	    targets   *
	}
	EOF
}

# The limits and time-outs of a benchmark's mwgd.conf: room for every
# connection a load makes, nothing cut while it runs.
bench_conf_limits() {
	cat <<-EOF
	limits {
	    connections 20000
	    worker-connections 20000
	}
	timeouts {
	    head 10s
	    connect 10s
	    idle 30m
	}
	EOF
}

PAM_MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so

# bench_identity N: pam_matrix users alice1..aliceN (group gp-clinicians) with their passwords
# ($T/id/logins: "password hex-secret" a line), nss_wrapper's passwd and
# group (mwg-net too: the privilege-separated build looks it up), the TOTP
# secrets as a pam_oath users file for `mwgctl totp import`; sets
# MWGD_ENV, the environment mwgd runs with.
bench_identity() {
	local n=$1 i uid pw hex
	[ -f "$PAM_MATRIX" ] || die "$PAM_MATRIX missing (pam_wrapper)"
	mkdir -p "$T/id/pam.d"
	printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	    "$PAM_MATRIX" "$T/id/passdb" "$PAM_MATRIX" "$T/id/passdb" \
	    >"$T/id/pam.d/mwg"
	: >"$T/id/pam.d/other"
	: >"$T/id/passdb"
	: >"$T/id/users.oath"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$T/id/passwd"
	getent passwd mwg-net >>"$T/id/passwd" || true
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$T/id/group"
	for ((i = 1; i <= n; i++)); do
		uid=$((20000 + i))
		pw=pw-$(openssl rand -hex 8)
		hex=$(openssl rand -hex 20)
		printf 'alice%d:%s:mwg\n' "$i" "$pw" >>"$T/id/passdb"
		printf 'alice%d:x:%d:3000:alice%d:/nonexistent:/usr/sbin/nologin\n' \
		    "$i" "$uid" "$i" >>"$T/id/passwd"
		printf 'HOTP/T30 alice%d - %s\n' "$i" "$hex" >>"$T/id/users.oath"
		printf '%s %s\n' "$pw" "$hex" >>"$T/id/logins"
	done
	# gp-clinicians is everyone's primary group, with no member list:
	# nss_wrapper's getgrgid_r answers -1, not ERANGE, for an entry
	# longer than the caller's buffer, and mwgd (1 KiB first, grown on
	# ERANGE) would drop a group listing 400 people from the session.
	printf 'gp-clinicians:x:3000:\n' >>"$T/id/group"
	chmod 644 "$T/id/passdb" "$T/id/passwd" "$T/id/group"
	MWGD_ENV=(PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/id/pam.d"
	    PAM_WRAPPER_DISABLE_DEEPBIND=1 NSS_WRAPPER_PASSWD="$T/id/passwd"
	    NSS_WRAPPER_GROUP="$T/id/group"
	    LD_PRELOAD=libpam_wrapper.so:libnss_wrapper.so)
}

# bench_csrs N: one P-256 key and base64 DER CSR per enrolment
# ($T/csr/J.key, $T/csr/J.b64), as 23-est-curl.sh makes them.
bench_csrs() {
	local j
	mkdir -p "$T/csr"
	for ((j = 1; j <= $1; j++)); do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -out "$T/csr/$j.key" 2>/dev/null &&
		openssl req -new -key "$T/csr/$j.key" -subj "/CN=bench-$j" \
		    -outform DER 2>/dev/null | openssl base64 -e >"$T/csr/$j.b64" ||
		    die "cannot make CSR $j"
	done
}

# bench_spawn_mwgd MWGD CONF LOG CPUS ADDR PORT: starts mwgd with
# MWGD_ENV, pinned to CPUS, and waits for its listener; SPAWNED_PID is its
# pid. In its own session (BENCH_SETSID=0: not), so its own scheduler
# autogroup, as a service has its own cgroup: in the script's group it
# would share one weight with every client thread, split between the CPUs
# by how many threads are runnable on each, and a gateway with more
# threads on its CPU would get more of it. setsid does not fork here: a
# background job of a script leads no process group.
bench_spawn_mwgd() {
	local bin=$1 conf=$2 out=$3 cpus=$4 addr=$5 port=$6 sid=setsid
	[ "${BENCH_SETSID:-1}" = 0 ] && sid=
	env "${MWGD_ENV[@]}" $sid taskset -c "$cpus" "$bin" -f "$conf" >"$out" 2>&1 &
	SPAWNED_PID=$!
	PIDS+=("$SPAWNED_PID")
	wait_listen "$port" "$SPAWNED_PID" "$addr" ||
	    die "mwgd did not start: $(tail -n 3 "$out")"
	[ "$(readlink "/proc/$SPAWNED_PID/exe")" = "$bin" ] ||
	    die "pid $SPAWNED_PID is not $bin (did setsid fork?)"
}

# bench_stop PID: TERM, up to 10 s, then KILL; STOPPED_RC is its exit
# status (not printed: only this shell, not a $(...), can wait for it).
bench_stop() {
	local i
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1"
	STOPPED_RC=0
	wait "$1" 2>/dev/null || STOPPED_RC=$?
}
