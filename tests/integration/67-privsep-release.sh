#!/usr/bin/env bash
# Scenario 66 on a release build (build/strict: -O2, no sanitizer, the
# release seccomp list, the test trigger compiled in), which `make test`
# builds beside build/asan: there the network process's root must be its
# empty directory and the strict allow-list must carry an enrolment, a
# login, a tunnel and SSH, and still kill a forbidden call.
HERE=$(cd "$(dirname "$0")" && pwd)
STRICT=${MWG_STRICT_BUILD:-$HERE/../../build/strict}
if [ ! -x "$STRICT/bin/mwgd" ]; then
	echo "67-privsep-release: FAIL: no release test build in $STRICT (make test builds it)" >&2
	exit 1
fi
MWG_BUILD=$(cd "$STRICT" && pwd) exec bash "$HERE/66-privsep.sh"
