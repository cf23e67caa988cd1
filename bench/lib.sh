# Shared by bench/run.sh and bench/ssh_bench.sh (sourced, not run): the
# scratch directory and the processes a benchmark starts, stopped on exit,
# and waiting for a listener. The sourcing script sets START_TIMEOUT and
# BENCH_LOG_PREFIX first, and may set BENCH_EXTRA_PIDS_FN to a function
# that prints more pids to stop (sshd's connection processes).

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

# wait_listen PORT PID: until something listens on 127.0.0.1:PORT, or PID
# dies, or START_TIMEOUT passes. Reads /proc: no client connection is made.
wait_listen() {
	local hex i
	hex=$(printf ':%04X' "$1")
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		if awk -v p="0100007F$hex" '$2 == p && $4 == "0A" { f = 1 }
		    END { exit !f }' /proc/net/tcp; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
