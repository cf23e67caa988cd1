#!/usr/bin/env bash
# A full disk: mwgd refuses new tunnels with 503 and a clear log line
# instead of letting them through unrecorded; when space returns it writes
# again (audit.resume) and serves.
. "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ]; then skip "needs root to mount a small tmpfs"; fi
mkdir -p "$T/small"
mount -t tmpfs -o size=512k tmpfs "$T/small" || skip "cannot mount tmpfs here"
# No ERR trap and no errexit here: a failing (exit rc) would stop the trap
# before cleanup, and leave mwgd running.
trap 'rc=$?; trap - ERR; set +e; umount -l "$T/small" 2>/dev/null; (exit $rc); cleanup' EXIT
# The daemon's own directory, as in production (mwgd refuses one anyone can write).
chown nobody:nogroup "$T/small" && chmod 755 "$T/small"
AUDIT=$T/small/audit.jsonl
setup_default
expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "served while there is room"
dd if=/dev/zero of="$T/small/filler" bs=4k count=200 2>/dev/null || true
# Fill what is left to the last byte.
head -c 1000000 /dev/zero >>"$T/small/filler" 2>/dev/null || true
for _ in 1 2 3; do gw_curl laptop-1 -o /dev/null "http://emis.K84001:$HTTP_PORT/" 2>/dev/null || true; done
code=$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/" 2>/dev/null || true)
body=$(printf 'CONNECT emis.K84001:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$HTTP_PORT" | gw_raw laptop-1 | tail -1)
expect_eq "$(jq -r .error <<<"$body")" audit-unavailable "refused while the audit trail cannot be written"
grep -q "No space left on device" "$T/mwgd.log" || fail "no clear log line about the full disk"
log "ok: the log says why"
rm -f "$T/small/filler"
for _ in $(seq 50); do
	c=$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/" 2>/dev/null || true)
	[ "$c" = 200 ] && break
	sleep 0.1
done
expect_eq "$c" 200 "served again once there is space"
audit_wait '.["event.action"]=="audit.resume"' 1
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null || fail "trail does not verify after the full disk"
log "ok: the trail verifies across the full-disk gap"
