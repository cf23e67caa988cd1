#!/usr/bin/env bash
# Builds each libFuzzer harness in tests/fuzz/ with clang-14 into build/fuzz/
# and runs it for FUZZ_SECONDS (default 30) on a scratch copy of its seed
# corpus (tests/fuzz/corpus/NAME/ is never written). Exits non-zero if any
# harness fails to build or finds a crash, leak, timeout or undefined
# behaviour; the reproducer is in build/fuzz/artifacts/NAME/ and replays
# with `build/fuzz/fuzz_NAME FILE`.
#   tests/fuzz/run.sh [NAME...]     NAME: conf policy gw_config http_head
#                                         audit_line est posture
set -u
cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang-14}
SECS=${FUZZ_SECONDS:-30}
OUT=build/fuzz
CFLAGS="-std=c11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined"
WARN="-Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter"
# Undefined behaviour is a finding, not a log line.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

COMMON="common/conf.c common/conf_value.c common/xmalloc.c common/log.c
    common/addr.c"
declare -A SRCS=(
	[conf]="$COMMON"
	[policy]="$COMMON common/errbuf.c $(echo policy/*.c)"
	[gw_config]="$COMMON gateway/config.c"
	[http_head]="gateway/http_head.c"
	[audit_line]="$COMMON audit/audit_reader.c audit/audit_chain.c
	    audit/audit_key.c"
	[est]="common/errbuf.c common/xmalloc.c common/log.c certs/est.c
	    certs/build.c"
	[posture]="common/errbuf.c common/xmalloc.c common/log.c
	    audit/audit_reader.c audit/audit_chain.c audit/audit_key.c
	    gateway/posture_parse.c"
	[login]="common/log.c common/errbuf.c common/xmalloc.c certs/identity.c
	    gateway/login.c gateway/job.c audit/audit_fields.c"
)
declare -A LIBS=(
	[conf]="-lcrypto"
	[policy]="-lcrypto"
	[gw_config]="-lcrypto"
	[http_head]="-lhttp_parser"
	[audit_line]="-ljansson -lcrypto"
	[est]="-lcrypto"
	[posture]="-ljansson -lcrypto"
	[login]="-ljansson -lcrypto"
)

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(conf policy gw_config http_head audit_line est posture login)
mkdir -p "$OUT/logs"
failed=()
for name in "${names[@]}"; do
	if [ -z "${SRCS[$name]+x}" ]; then
		echo "unknown harness: $name" >&2
		exit 2
	fi
	bin=$OUT/fuzz_$name
	log=$OUT/logs/$name.log
	# The harness with the house warnings and -Werror; the code under
	# test is held to them by the gcc build, so clang-only warnings there
	# (e.g. -Wformat-nonliteral in a vprintf wrapper) cannot stop a run.
	objs=()
	for src in ${SRCS[$name]}; do
		obj=$OUT/obj/$name/${src//\//_}.o
		mkdir -p "$(dirname "$obj")"
		# shellcheck disable=SC2086
		$CC $CFLAGS -c "$src" -o "$obj" || { failed+=("$name(build)"); continue 2; }
		objs+=("$obj")
	done
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS $WARN -Werror "tests/fuzz/fuzz_$name.c" "${objs[@]}" \
	    ${LIBS[$name]} -o "$bin"; then
		failed+=("$name(build)")
		continue
	fi
	corpus=$OUT/corpus/$name
	rm -rf "$corpus"
	mkdir -p "$corpus" "$OUT/artifacts/$name"
	cp tests/fuzz/corpus/"$name"/* "$corpus"/
	echo "fuzz  $name: ${SECS}s"
	if "$bin" -max_len=65536 -max_total_time="$SECS" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$OUT/artifacts/$name/" "$corpus" >"$log" 2>&1; then
		echo "ok    $name: $(grep -a -m1 'stat::number_of_executed_units' "$log" |
		    awk '{print $2}') runs, corpus $(ls "$corpus" | wc -l) files"
	else
		failed+=("$name")
		echo "FAIL  $name (log: $log)"
		grep -a -m3 -E 'ERROR|runtime error|Test unit written' "$log" |
		    sed 's/^/      /'
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
echo "all harnesses ran clean"
