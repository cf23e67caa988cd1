#!/usr/bin/env bash
# Runs last: no secret any scenario used (private keys of the CA, TLS,
# audit and devices, SSH host keys, the store's binary secrets.key as hex
# or base64, passwords, TOTP secrets, enrolment codes and their HTTP Basic
# tokens) appears in any log or audit file the suite produced, nor does
# any PEM or OpenSSH private key block.
. "$(dirname "$0")/common.sh"
secrets=$COLLECT/secrets.txt
[ -s "$secrets" ] || fail "no secrets were collected: did the other scenarios run?"
files=$(find "$COLLECT" -mindepth 2 -type f | wc -l)
[ "$files" -gt 10 ] || fail "only $files log files collected"
# Every kind was collected, or the scan would not be looking for it.
for kind in private-key ssh-host-key store-key password totp-secret enrolment-code; do
	grep -q "^$kind " "$COLLECT_KINDS_FILE" || fail "no $kind was collected: did its scenarios run?"
done
log "ok: collected $(cut -d' ' -f1 "$COLLECT_KINDS_FILE" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')"
# The last line of a base64 body can be a few characters, which would
# match anything: a needle is at least 16 characters.
sort -u "$secrets" | awk 'length($0) >= 16' >"$T/needles"
n=$(wc -l <"$T/needles")
if hits=$(grep -rlF -f "$T/needles" "$COLLECT"/*/ 2>/dev/null); then
	fail "secret material found in: $hits"
fi
log "ok: none of $n secret lines found in $files log and audit files"
if hits=$(grep -rlE "PRIVATE KEY|OPENSSH PRIVATE" "$COLLECT"/*/ 2>/dev/null); then
	fail "a private key block found in: $hits"
fi
log "ok: no private key block in any log"
