#!/usr/bin/env bash
# What a new clinician meets following docs/clinician-guide.md, step by
# step on loopback: the root certificate's fingerprint checked before the
# enrolment code is sent (--ca-fingerprint), the two fingerprints mwg enrol
# prints labelled, and mwg login asked on a real terminal (a pty) showing
# neither the password nor the one-time code as they are typed.
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MWG=$BIN/mwg
ALICE_PW=alice-Pw-85e0c4
D=$T/laptop
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
write_policy
write_conf
start_mwgd
enrol_totp alice
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
printf '%s\n' "${code#*:}" >>"$COLLECT_SECRETS_FILE"

# Step 1: the fingerprint IT read out, as openssl prints it.
root_fpr=$(openssl x509 -in "$T/ca/root.pem" -noout -fingerprint -sha256)
bare=${root_fpr#*=}
other_fpr=$(openssl x509 -in "$T/ca/issuing.pem" -noout -fingerprint -sha256)

rc=0; err=$("$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" \
    --ca-fingerprint "12:34" 2>&1) || rc=$?
expect_eq "$rc" 2 "a malformed --ca-fingerprint is bad usage"
expect_match "$err" "--ca-fingerprint needs a SHA-256 fingerprint" "malformed fingerprint: says so"

rc=0; out=$("$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" \
    --ca-fingerprint "${other_fpr#*=}" 2>"$T/wrong.err") || rc=$?
expect_eq "$rc" 1 "a root.pem without the fingerprint IT gave is refused"
expect_eq "$(cat "$T/wrong.err")" "mwg: enrol: $T/ca/root.pem does not have the SHA-256 fingerprint given with --ca-fingerprint: do not use it; ask IT for the right root.pem (nothing was sent)" \
    "wrong fingerprint: the reason"
expect_eq "$out" "root certificate ($T/ca/root.pem) SHA-256 fingerprint: $bare" "wrong fingerprint: what the file has is shown"
[ ! -e "$D/device.pem" ] || fail "a refused enrolment wrote device.pem"
expect_eq "$(audit_count 'has("source.ip")')" 0 "nothing reached the gateway (no request audited)"

# The same code still works: nothing was sent. Lower case without colons
# is the same fingerprint.
lower=$(tr -d : <<<"$bare" | tr 'A-F' 'a-f')
out=$("$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" --ca-fingerprint "$lower")
log "$out"
expect_eq "$(sed -n 1p <<<"$out")" "root certificate ($T/ca/root.pem) SHA-256 fingerprint: $bare" \
    "enrol: the root's fingerprint first, labelled"
expect_match "$(sed -n 2p <<<"$out")" "^enrolled this device as dev-[a-z2-7]+ with the gateway $GW$" "enrol: enrolled"
dev_fpr=$(openssl x509 -in "$D/device.pem" -noout -fingerprint -sha256)
expect_eq "$(grep fingerprint <<<"$out" | sed -n 2p)" \
    "this device's certificate SHA-256 fingerprint (for IT's records; not the root's): ${dev_fpr#*=}" \
    "enrol: the device's fingerprint, labelled as not the root's"

# Step 3: mwg login on a terminal. The pty shows what the person sees.
"$MWG" posture --dir "$D" --root "$ROOT/tests/fixtures/posture/debian12-luks-lvm" >/dev/null
totp_settle
otp=$(totp_code)
rc=0; python3 "$ROOT/tests/tools/pty-login.py" "$ALICE_PW" "$otp" -- "$MWG" login --dir "$D" --user alice \
    >"$T/tty.out" 2>&1 || rc=$?
log "the terminal showed:"; tr -d '\r' <"$T/tty.out"
expect_eq "$rc" 0 "login on a terminal"
expect_eq "$(tr -d '\r' <"$T/tty.out" | sed -n 1,2p)" "Password for alice: 
One-time code: " "login: both prompts, nothing typed shown after either"
expect_match "$(tr -d '\r' <"$T/tty.out" | sed -n 3p)" "^logged in as alice on device dev-" "login: logged in"
if grep -qF -- "$otp" "$T/tty.out"; then fail "the one-time code was echoed on the terminal"; fi
if grep -qF -- "$ALICE_PW" "$T/tty.out"; then fail "the password was echoed on the terminal"; fi
stop_mwgd
