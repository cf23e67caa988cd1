#!/usr/bin/env bash
# An enrolment that fails after its code was used (here: the audit trail
# cannot be written, so no certificate may leave) gives the code back:
# the same code enrols the device once the trail works again, and the
# restoration is in the log and the trail.
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
MWG=$BIN/mwg
make_ca
write_policy
write_conf
start_mwgd
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
code_id=${code%%:*}
printf '%s\n' "$code" >>"$COLLECT_SECRETS_FILE"

# Fill the disk to the last byte: the enrolment's record cannot be written.
dd if=/dev/zero of="$T/small/filler" bs=4k count=200 2>/dev/null || true
head -c 1000000 /dev/zero >>"$T/small/filler" 2>/dev/null || true
# The trail's last page may still have room: refusals (audited, from no
# certificate) fill it until the writer reports the full disk.
for _ in $(seq 100); do
	grep -q "No space left on device" "$T/mwgd.log" && break
	printf 'CONNECT emis.K84001:1 HTTP/1.1\r\nHost: x\r\n\r\n' | gw_raw - >/dev/null || true
done
grep -q "No space left on device" "$T/mwgd.log" || fail "the audit writer never met the full disk"
rc=0; "$MWG" enrol --dir "$T/d1" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >"$T/e1.out" 2>"$T/e1.err" || rc=$?
expect_eq "$rc" 1 "enrolment while the trail cannot be written: exit 1"
expect_match "$(cat "$T/e1.err")" "audit" "... and mwg says the audit trail is why"
[ ! -e "$T/d1/device.pem" ] || fail "a certificate was stored although none may leave"
grep -q "enrolment code $code_id restored: enrolment failed after it was used" "$T/mwgd.log" ||
	fail "no log line about the restored code"
log "ok: the log says the code was restored"

rm -f "$T/small/filler"
for _ in $(seq 50); do
	"$MWG" enrol --dir "$T/d2" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >"$T/e2.out" 2>"$T/e2.err" && break
	grep -q "audit" "$T/e2.err" || fail "second enrolment failed for another reason: $(cat "$T/e2.err")"
	sleep 0.1
done
[ -s "$T/d2/device.pem" ] || fail "the same code did not enrol once the trail works: $(cat "$T/e2.err")"
log "ok: the same code enrols the device once the trail works again"
rc=0; "$MWG" enrol --dir "$T/d3" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "and then it is used up: a third enrolment fails"
audit_wait '.["event.action"]=="enrol.issue" and .["enrol.code_id"]=="'"$code_id"'"' 1
expect_eq "$(audit_count '.["event.action"]=="enrol.request" and .["event.reason"]=="enrolment code refused: used"')" 1 "the third use is refused as used"
stop_mwgd
