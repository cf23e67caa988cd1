#!/usr/bin/env bash
# Runs every test against one build: the Criterion unit suites, then the
# numbered integration scenarios (each a real mwgd with real clients).
# Prints each outcome and closes with "N passed, N failed".
set -u
BUILD=${1:?usage: tests/run-all.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
cd "$(dirname "$0")/.."
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0
passed=0
failed=0
failures=()
logdir=$BUILD/test-logs
rm -rf "$logdir" && mkdir -p "$logdir"

for t in "$BUILD"/tests/*_test; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if timeout 300 "$t" --jobs 2 >"$logdir/$name.log" 2>&1; then
		passed=$((passed + 1)); echo "ok    unit/$name: $(grep -a Synthesis "$logdir/$name.log")"
	else
		failed=$((failed + 1)); failures+=("unit/$name")
		echo "FAIL  unit/$name"; tail -30 "$logdir/$name.log" | sed 's/^/      /'
	fi
done

for t in tests/integration/[0-9]*.sh; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	if MWG_BUILD="$BUILD" timeout 180 bash "$t" >"$logdir/$name.log" 2>&1; then
		passed=$((passed + 1)); echo "ok    integration/$name ($(( $(date +%s) - start ))s)"
	else
		failed=$((failed + 1)); failures+=("integration/$name")
		echo "FAIL  integration/$name"; tail -40 "$logdir/$name.log" | sed 's/^/      /'
	fi
done

[ "$failed" -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
