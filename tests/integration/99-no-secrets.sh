#!/usr/bin/env bash
# Runs last: no secret any scenario used (private key material today;
# passwords, codes and enrolment secrets as they arrive) appears in any
# log or audit file the suite produced, nor does any PEM private key.
. "$(dirname "$0")/common.sh"
secrets=$COLLECT/secrets.txt
[ -s "$secrets" ] || fail "no secrets were collected: did the other scenarios run?"
files=$(find "$COLLECT" -mindepth 2 -type f | wc -l)
[ "$files" -gt 10 ] || fail "only $files log files collected"
sort -u "$secrets" | grep -v '^$' >"$T/needles"
n=$(wc -l <"$T/needles")
if hits=$(grep -rlF -f "$T/needles" "$COLLECT"/*/ 2>/dev/null); then
	fail "secret material found in: $hits"
fi
log "ok: none of $n secret lines found in $files log and audit files"
if hits=$(grep -rl "PRIVATE KEY" "$COLLECT"/*/ 2>/dev/null); then
	fail "a private key block found in: $hits"
fi
log "ok: no private key block in any log"
