#!/usr/bin/env bash
# make demo: the main job end to end on loopback. A throwaway CA, mwgd, a
# device enrolled over EST with a one-time code, a TOTP enrolment (QR in the
# terminal), a login with password and code, a page from a stand-in
# practice system through the tunnel, refusals, a lock, and the audit trail
# verified. Everything it starts is stopped on exit; files stay in
# build/demo for a look.
set -euo pipefail
BUILD=${1:-build/release}
BIN=$(cd "$BUILD/bin" && pwd)
D=$(pwd)/build/demo
GW=127.0.0.1:18443
SITE=18080
PIDS=()

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "demo: nothing listens on port $1" >&2
	exit 1
}

rm -rf "$D" && mkdir -p "$D/state" && chmod 755 "$D"

step "1. A throwaway CA: root, issuing CA, server certificate (keys 0600)"
run "$BIN/mwgctl" ca init --dir "$D/ca" --host 127.0.0.1 --host localhost
chmod 755 "$D/ca"
if [ "$(id -u)" -eq 0 ]; then
	chgrp nogroup "$D/ca/server.key" && chmod 640 "$D/ca/server.key"
	RUNAS=$'user nobody\ngroup nogroup'
else
	RUNAS=
fi

step "2. Policy: one practice, one target (the stand-in practice system), one role"
cat >"$D/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target emis 127.0.0.1:$SITE
}
role clinician {
    groups      gp-clinicians
    targets     emis
    max-session 12h
}
member alice { practices K84001 }
POLICY
cat "$D/policy.conf"
run "$BIN/mwgctl" policy check "$D/policy.conf"

# PAM and the directory without touching /etc: pam_wrapper checks alice's
# password against a file, nss_wrapper gives her the gp-clinicians group.
# In production these are /etc/pam.d/mwg (deploy/pam.d/mwg) and SSSD.
mkdir -p "$D/pam.d"
PASSWORD=demo-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'alice:%s:mwg\n' "$PASSWORD" >"$D/passdb"
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so "$D/passdb" \
	/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so "$D/passdb" >"$D/pam.d/mwg"
: >"$D/pam.d/other"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nalice:x:2000:2000:Alice:/nonexistent:/usr/sbin/nologin\n' >"$D/passwd"
# mwgd's network process runs as mwg-net (deploy/deps.sh demo makes it).
getent passwd mwg-net >>"$D/passwd" || true
printf 'root:x:0:\nnogroup:x:65534:\nalice:x:2000:\ngp-clinicians:x:3000:alice\n' >"$D/group"
chmod 644 "$D/passdb" "$D/passwd" "$D/group"
[ -n "$RUNAS" ] && chown nobody:nogroup "$D/state"
cat >"$D/mwgd.conf" <<CONF
$RUNAS
workers 2
state-dir $D/state
policy  $D/policy.conf
control $D/control.sock
audit { file $D/audit.jsonl }
listen tls $GW {
    certificate $D/ca/server.pem
    key         $D/ca/server.key
    ca          $D/ca/issuing.pem
    ca-key      $D/ca/issuing.key
    root        $D/ca/root.pem
}
CONF
run "$BIN/mwgd" -n -f "$D/mwgd.conf"

step "3. Start the stand-in practice system and mwgd"
"$BIN/mwg-backend" --listen "127.0.0.1:$SITE" --mode http >"$D/site.log" 2>&1 &
PIDS+=($!)
PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$D/pam.d" NSS_WRAPPER_PASSWD="$D/passwd" \
	NSS_WRAPPER_GROUP="$D/group" LD_PRELOAD=libpam_wrapper.so:libnss_wrapper.so \
	"$BIN/mwgd" -f "$D/mwgd.conf" >"$D/mwgd.log" 2>&1 &
MWGD=$!
PIDS+=($MWGD)
wait_port "$SITE"
wait_port "${GW#*:}"
sleep 0.3
sed 's/^/    /' "$D/mwgd.log"
CTL=(-s "$D/control.sock")

step "4. IT makes a one-time enrolment code for alice's laptop"
echo "\$ mwgctl enrol-code create --user alice --practice K84001 --label \"alice home laptop\""
CODE=$("$BIN/mwgctl" "${CTL[@]}" enrol-code create --user alice --practice K84001 --label "alice home laptop")
echo "$CODE" | sed 's/:.*/:<secret, shown once>/'

step "5. On the laptop: mwg enrol makes the key there (it never leaves) and enrols over EST"
M=(--dir "$D/laptop")
echo "\$ mwg enrol ${M[*]} --gateway $GW --ca $D/ca/root.pem --code ${CODE%%:*}:<secret>"
"$BIN/mwg" enrol "${M[@]}" --gateway "$GW" --ca "$D/ca/root.pem" --code "$CODE"
ls -l "$D/laptop" | sed 's/^/    /'
run "$BIN/mwgctl" "${CTL[@]}" device list

step "6. IT enrols alice's authenticator: scan the QR code (secret shown once)"
"$BIN/mwgctl" "${CTL[@]}" totp enrol alice --issuer "mwg demo" | tee "$D/totp.out" | sed 's/secret=[A-Z2-7]*/secret=<hidden>/'
SECRET=$(grep -o 'secret=[A-Z2-7]*' "$D/totp.out" | head -1 | cut -d= -f2)
rm -f "$D/totp.out"

step "7. alice logs in: password (PAM) and the code from her phone (oathtool here)"
printf '%s\n' "$PASSWORD" >"$D/password"
chmod 600 "$D/password"
OTP=$(oathtool --totp -b "$SECRET")
run "$BIN/mwg" login "${M[@]}" --user alice --password-file "$D/password" --otp "$OTP"
run "$BIN/mwg" status "${M[@]}"
echo "... the same code again is refused (each code works once):"
"$BIN/mwg" login "${M[@]}" --user alice --password-file "$D/password" --otp "$OTP" || true

step "8. alice opens the practice system through a local port (mwg connect) and fetches a page"
"$BIN/mwg" connect "${M[@]}" "emis.K84001:$SITE" --listen 127.0.0.1:18081 >"$D/connect.out" 2>&1 &
PIDS+=($!)
wait_port 18081
run curl -sS "http://127.0.0.1:18081/appointments"

step "9. A device certificate alone opens nothing; nor does an unknown target"
printf 'CONNECT emis.K84001:%s HTTP/1.1\r\nHost: emis.K84001\r\n\r\n' "$SITE" |
	openssl s_client -quiet -connect "$GW" -CAfile "$D/ca/root.pem" \
	-cert "$D/laptop/device.pem" -key "$D/laptop/device.key" 2>/dev/null | tail -1
echo
printf 'CONNECT files.K84001:445 HTTP/1.1\r\nHost: files.K84001\r\n\r\n' |
	openssl s_client -quiet -connect "$GW" -CAfile "$D/ca/root.pem" \
	-cert "$D/laptop/session.pem" -key "$D/laptop/device.key" 2>/dev/null | tail -1
echo

step "10. IT locks alice out: at once, and audited with who did it"
run "$BIN/mwgctl" "${CTL[@]}" lock user alice --reason "demo: account under review"
curl -sS "http://127.0.0.1:18081/appointments" 2>/dev/null || echo "(the local connection is closed; mwg connect says why:)"
sleep 0.2
tail -1 "$D/connect.out"
run "$BIN/mwgctl" "${CTL[@]}" unlock user alice

step "11. The running gateway, over its control socket"
run "$BIN/mwgctl" -s "$D/control.sock" status

step "12. The audit trail: every decision, one JSON line each, in a hash chain"
sleep 0.3
jq -c '{seq, "@timestamp", "event.action", "event.outcome", "user.name", "device.id", "destination.address", "event.reason", "network.bytes_down"} | with_entries(select(.value != null))' "$D/audit.jsonl"

step "13. The cyber team exports one practice's records (the export is itself recorded)"
run "$BIN/mwgctl" -s "$D/control.sock" audit export --practice K84001 --format csv "$D/audit.jsonl" | cut -d, -f1-7,12

step "14. Stop mwgd; verify the whole trail against the audit key's public half"
kill -TERM "$MWGD" && wait "$MWGD" 2>/dev/null || true
run "$BIN/mwgctl" audit verify --key "$D/state/audit.key.pub" "$D/audit.jsonl"
cp "$D/audit.jsonl" "$D/tampered.jsonl"
sed -i '0,/"network.bytes_down":[0-9]*/s//"network.bytes_down":1/' "$D/tampered.jsonl"
echo "... and after changing one byte count in a copy:"
"$BIN/mwgctl" audit verify --key "$D/state/audit.key.pub" "$D/tampered.jsonl" || true

step "Done. Files are in $D; mwgd and the stand-in are stopped."
echo "Also built, not shown here but run by the tests (tests/integration/):"
echo "  device posture reports checked per role (mwg posture; 28-posture.sh, 29-posture-refresh.sh),"
echo "  the SSH jump listener (ssh -J, mwg ssh-config; docs/ssh.md, 30-ssh-jump.sh),"
echo "  revocation and the CRL (24-revoke.sh, 60-crl.sh), audit forwarding to a SIEM over"
echo "  syslog (18-syslog-forward.sh) and retention per practice (20-audit-retention.sh)."
