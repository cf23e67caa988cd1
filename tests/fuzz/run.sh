#!/usr/bin/env bash
# Builds each libFuzzer harness in tests/fuzz/ with clang-14 into build/fuzz/
# and runs it for FUZZ_SECONDS (default 30) on a scratch copy of its seed
# corpus (tests/fuzz/corpus/NAME/ is never written). Exits non-zero if any
# harness fails to build or finds a crash, leak, timeout or undefined
# behaviour; the reproducer is in build/fuzz/artifacts/NAME/ and replays
# with `build/fuzz/fuzz_NAME FILE`.
#   tests/fuzz/run.sh [NAME...]           fuzz each for FUZZ_SECONDS
#   tests/fuzz/run.sh --replay [NAME...]  build, then run every seed and
#                                         every saved finding once (-runs=0):
#                                         what `make test` does
#   tests/fuzz/run.sh --list              the harness names
# Saved findings: FUZZ_FINDINGS/NAME/* (default ../shared/findings/fuzz
# beside the checkout, if it exists), replayed with the seeds.
set -u
cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang-14}
SECS=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-$(nproc)}
FINDINGS=${FUZZ_FINDINGS:-../shared/findings/fuzz}
OUT=build/fuzz
CFLAGS="-std=c11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined $(pkg-config --cflags libpq)"
WARN="-Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter"
# Undefined behaviour is a finding, not a log line.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

COMMON="common/conf.c common/conf_value.c common/xmalloc.c common/log.c
    common/addr.c common/fbundle.c common/b64.c"
declare -A SRCS=(
	[conf]="$COMMON"
	[policy]="$COMMON common/errbuf.c $(echo policy/*.c)"
	[gw_config]="$COMMON common/proxy_v2.c gateway/config.c audit/audit_nodes.c
	    audit/audit_reader.c audit/audit_chain.c audit/audit_key.c
	    common/errbuf.c common/safefile.c common/fdio.c"
	[http_head]="gateway/net/http_head.c"
	[audit_line]="$COMMON common/errbuf.c common/safefile.c common/fdio.c
	    audit/audit_reader.c audit/audit_chain.c audit/audit_key.c
	    audit/audit_nodes.c"
	[est]="common/errbuf.c common/xmalloc.c common/log.c certs/est.c
	    certs/build.c"
	[posture]="common/errbuf.c common/xmalloc.c common/log.c
	    common/safefile.c common/fdio.c audit/audit_reader.c
	    audit/audit_chain.c audit/audit_key.c audit/audit_nodes.c
	    gateway/posture_parse.c"
	[login]="common/log.c common/errbuf.c common/xmalloc.c certs/identity.c
	    gateway/monitor/auth_verdict.c
	    gateway/monitor/login.c gateway/job.c audit/audit_fields.c"
	[csv]="common/xmalloc.c common/log.c audit/audit_csv.c"
	[authority]="gateway/net/tunnel_authority.c"
	[est_basic]="common/errbuf.c common/xmalloc.c common/log.c certs/est.c
	    certs/build.c gateway/monitor/est.c gateway/job.c audit/audit_fields.c"
	[ssh_names]="common/log.c common/errbuf.c common/xmalloc.c common/addr.c
	    certs/identity.c gateway/net/tunnel_authority.c"
	[control]="$COMMON common/errbuf.c common/safefile.c common/fdio.c"
	[ipc]="common/xmalloc.c common/log.c common/b64.c certs/identity.c
	    gateway/ipc.c gateway/monitor/mon_check.c gateway/state_mirror.c
	    gateway/state_apply.c
	    gateway/denylist.c gateway/devcache.c"
	[proxy_v2]="common/proxy_v2.c"
)
declare -A LIBS=(
	[conf]="-ljansson -lcrypto"
	[policy]="-ljansson -lcrypto"
	[gw_config]="-ljansson -lcrypto -lpq"	# libpq's conninfo parser (store { })
	[http_head]="-lhttp_parser"
	[audit_line]="-ljansson -lcrypto"
	[est]="-lcrypto"
	[posture]="-ljansson -lcrypto"
	[login]="-ljansson -lcrypto"
	[csv]="-ljansson -lcrypto"
	[authority]=""
	[est_basic]="-ljansson -lcrypto"
	[ssh_names]="-lcrypto"
	[control]="-ljansson -levent -lcrypto -lpthread"
	[ipc]="-ljansson -lcrypto -lpthread"
	[proxy_v2]=""
)
ALL=(conf policy gw_config http_head audit_line est posture login csv
    authority est_basic ssh_names control ipc proxy_v2)

# 0 if obj must be (re)built: missing, or older than a file it includes.
stale() {	# obj
	local dep
	[ -f "$1" ] && [ -f "$1.d" ] || return 0
	for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$1.d"); do
		[ "$dep" -nt "$1" ] && return 0
	done
	return 1
}

# Builds build/fuzz/fuzz_NAME; its compiler output goes to logs/NAME.build.
build() {	# name
	local name=$1 src obj objs=()
	for src in ${SRCS[$name]}; do
		obj=$OUT/obj/$name/${src//\//_}.o
		mkdir -p "$(dirname "$obj")"
		stale "$obj" || { objs+=("$obj"); continue; }
		# The code under test is held to the house warnings by the gcc
		# build, so clang-only warnings there (e.g. -Wformat-nonliteral
		# in a vprintf wrapper) cannot stop a run.
		# shellcheck disable=SC2086
		$CC $CFLAGS -MMD -MF "$obj.d" -c "$src" -o "$obj" || return 1
		objs+=("$obj")
	done
	# The harness itself with the house warnings and -Werror.
	# shellcheck disable=SC2086
	$CC $CFLAGS $WARN -Werror "tests/fuzz/fuzz_$name.c" "${objs[@]}" \
	    ${LIBS[$name]} -o "$OUT/fuzz_$name"
}

# Builds the harnesses JOBS at a time; prints a FAIL line for each that
# does not build and returns the number that failed.
build_all() {	# name...
	local name n=0 bad=0 pids=() names=()
	for name in "$@"; do
		build "$name" >"$OUT/logs/$name.build" 2>&1 &
		pids+=($!)
		names+=("$name")
		n=$((n + 1))
		if [ $((n % JOBS)) -eq 0 ]; then
			wait_builds; pids=(); names=()
		fi
	done
	wait_builds
	return "$bad"
}
wait_builds() {
	local i
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" && continue
		bad=$((bad + 1))
		echo "FAIL  fuzz/${names[$i]}: does not build"
		sed 's/^/      /' "$OUT/logs/${names[$i]}.build" | head -20
		BUILD_FAILED+=("${names[$i]}")
	done
}

# Runs every seed and saved finding once; any crash, leak or undefined
# behaviour fails it.
replay() {	# name
	local name=$1 log=$OUT/logs/$1.replay inputs=() f
	for f in tests/fuzz/corpus/"$name"/* "$FINDINGS/$name"/*; do
		[ -f "$f" ] && inputs+=("$f")
	done
	if [ ${#inputs[@]} -eq 0 ]; then
		echo "FAIL  fuzz/$name: no seed corpus in tests/fuzz/corpus/$name"
		return 1
	fi
	if "$OUT/fuzz_$name" -runs=0 -timeout=10 -rss_limit_mb=2048 \
	    "${inputs[@]}" >"$log" 2>&1; then
		echo "ok    fuzz/$name: ${#inputs[@]} inputs replayed"
		return 0
	fi
	echo "FAIL  fuzz/$name (log: $log)"
	grep -a -B1 -m3 -E 'ERROR|runtime error' "$log" | sed 's/^/      /'
	return 1
}

fuzz() {	# name
	local name=$1 log=$OUT/logs/$1.log corpus=$OUT/corpus/$1
	rm -rf "$corpus"
	mkdir -p "$corpus" "$OUT/artifacts/$name"
	cp tests/fuzz/corpus/"$name"/* "$corpus"/
	echo "fuzz  $name: ${SECS}s"
	if "$OUT/fuzz_$name" -max_len=65536 -max_total_time="$SECS" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$OUT/artifacts/$name/" "$corpus" >"$log" 2>&1; then
		echo "ok    $name: $(grep -a -m1 'stat::number_of_executed_units' "$log" |
		    awk '{print $2}') runs, corpus $(ls "$corpus" | wc -l) files"
		return 0
	fi
	echo "FAIL  $name (log: $log)"
	grep -a -m3 -E 'ERROR|runtime error|Test unit written' "$log" |
	    sed 's/^/      /'
	return 1
}

# Every harness file has its sources listed here: one that has not would
# never build, and nothing would say so.
for f in tests/fuzz/fuzz_*.c; do
	name=$(basename "$f" .c)
	name=${name#fuzz_}
	if [ -z "${SRCS[$name]+x}" ]; then
		echo "FAIL  fuzz/$name: $f has no sources in tests/fuzz/run.sh"
		exit 1
	fi
done

mode=fuzz
case "${1:-}" in
--list) echo "${ALL[*]}"; exit 0 ;;
--replay) mode=replay; shift ;;
esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for name in "${names[@]}"; do
	if [ -z "${SRCS[$name]+x}" ]; then
		echo "unknown harness: $name (${ALL[*]})" >&2
		exit 2
	fi
done
if ! command -v "$CC" >/dev/null; then
	echo "FAIL  fuzz: $CC is not installed (deploy/deps.sh build test)"
	exit 1
fi
mkdir -p "$OUT/logs"
BUILD_FAILED=()
build_all "${names[@]}"
failed=("${BUILD_FAILED[@]}")
for name in "${names[@]}"; do
	[[ " ${BUILD_FAILED[*]} " == *" $name "* ]] && continue
	"$mode" "$name" || failed+=("$name")
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
echo "all harnesses ran clean"
