#!/usr/bin/env bash
# Renewal: mwg renews its device certificate on its own (simplereenroll)
# once it is in the last third of its life; same device id, new serial,
# audited; an expired certificate gives a clear error.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
make_ca
D=$T/mwg
mkdir -p "$T/state" "$D"; chmod 700 "$D"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/device.key" 2>/dev/null
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-9 --key "$D/device.key" --not-before "$(date -u -d '-70 days' +%Y-%m-%d)" --store "$T/state" --owner alice --out "$T/old"
chown -R nobody:nogroup "$T/state"
cp "$T/old.pem" "$D/device.pem"; cp "$T/ca/root.pem" "$D/ca.pem"
cat "$T/ca/issuing.pem" "$T/ca/root.pem" >"$D/cacerts.pem"
echo "$GW" >"$D/gateway"
write_policy
write_conf
start_mwgd
old_serial=$(openssl x509 -in "$D/device.pem" -noout -serial)
rc=0; "$MWG" status --dir "$D" >"$T/st.out" 2>"$T/st.err" || rc=$?
cat "$T/st.err"; head -3 "$T/st.out"
expect_eq "$rc" 0 "status exit"
expect_match "$(cat "$T/st.err")" "renewed the device certificate of laptop-9" "renewed"
new_serial=$(openssl x509 -in "$D/device.pem" -noout -serial)
[ "$new_serial" != "$old_serial" ] || fail "serial unchanged"
expect_match "$(head -3 "$T/st.out")" "device: laptop-9, certificate valid until .* \((89|90)d" "fresh device certificate"
audit_wait '.["event.action"]=="enrol.renew" and .["device.id"]=="laptop-9"' 1
log "ok: renewal audited"
expect_eq "$("$BIN/mwgctl" -s "$CTL" device list --json | jq -r '.devices[0].id')" laptop-9 "renewal keeps the device id"
rc=0; "$MWG" status --dir "$D" >"$T/st.out" 2>"$T/st.err" || rc=$?
expect_eq "$(cat "$T/st.err")" "" "no second renewal"
# An expired device certificate: clear message, exit 1 for login.
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-9 --key "$D/device.key" --expired --out "$T/exp"
cp "$T/exp.pem" "$D/device.pem"
rc=0; err=$("$MWG" login --dir "$D" --user alice --password-file /dev/null --otp 123456 2>&1) || rc=$?
expect_eq "$rc" 1 "login with expired device cert"
expect_match "$err" "^mwg: login: the device certificate expired on [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC: enrol again with a new code \(mwg enrol --force\)$" "... says it expired and what to do"
stop_mwgd
