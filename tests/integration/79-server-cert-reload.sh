#!/usr/bin/env bash
# The renewed server certificate reaches clients at reload: after mwgctl
# ca server-cert a new handshake still sees the old certificate (nothing
# is read until asked), after mwgctl reload it sees the new one, and a
# tunnel opened before keeps flowing through both. The reload record names
# the old and new certificates with the admin's uid. A renewal with a key
# that does not match is refused at reload, and the new certificate stays.
. "$(dirname "$0")/common.sh"
setup_default
served() { openssl s_client -connect "$GW" -CAfile "$T/ca/root.pem" </dev/null 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//'; }
fpr() { openssl x509 -in "$T/ca/server.pem" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
hex() { tr -d ':' | tr 'A-F' 'a-f'; }
old=$(fpr)
expect_eq "$(served)" "$old" "mwgd serves the first certificate"

open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
ping() { printf '%s\n' "$1" >&"$tin"; read -r -t 5 reply <&"$tout"; expect_eq "$reply" "$1" "tunnel echoes '$1'"; }
ping before-renewal

"$BIN/mwgctl" ca server-cert --dir "$T/ca" --host 127.0.0.1 --host localhost >/dev/null
new=$(fpr)
[ "$new" != "$old" ] || fail "the renewal made no new certificate"
expect_eq "$(served)" "$old" "before the reload, new handshakes still get the old certificate"
ping after-renewal

expect_eq "$("$BIN/mwgctl" -s "$CTL" reload; echo "rc=$?")" "reload: done
rc=0" "reload"
expect_eq "$(served)" "$new" "after the reload, a new handshake gets the new certificate"
grep -q "reload: new server certificate, sha256 $(hex <<<"$new")" "$T/mwgd.log" || fail "no log line for the new certificate"
ping after-reload
# The new certificate verifies for clients that trust the root, end to end.
expect_eq "$(gw_curl laptop-1 -s "http://emis.K84001:$HTTP_PORT/" -o /dev/null -w '%{http_code}')" 200 "a new tunnel through the new certificate"
rec=$(audit_select '.["event.action"]=="policy.reload" and .["event.outcome"]=="success"' | tail -1)
expect_eq "$(jq -c '[.["user.id"], .["tls.server_cert_old_sha256"], .["tls.server_cert_sha256"]]' <<<"$rec")" \
    "[$(id -u),\"$(hex <<<"$old")\",\"$(hex <<<"$new")\"]" "policy.reload names the old and new certificates and who asked"

# A key that does not match the certificate: the reload is refused, the
# new certificate keeps being served, the tunnel keeps flowing.
cp "$T/ca/server.key" "$T/server.key.good"
cp "$T/ca/issuing.key" "$T/ca/server.key"
rc=0; err=$("$BIN/mwgctl" -s "$CTL" reload 2>&1) || rc=$?
expect_eq "$rc" 1 "reload with a mismatched key exits 1"
expect_match "$err" "cannot load key $T/ca/server.key: .*key values mismatch" "and says why"
expect_eq "$(served)" "$new" "the refused reload keeps the certificate being served"
ping after-refused-reload
cp "$T/server.key.good" "$T/ca/server.key"

# The tunnel carried every byte across the renewal and both reloads.
exec {tin}>&-
stop_mwgd
close=$(audit_select '.["event.action"]=="tunnel.close" and .["destination.address"]=="echo.K84001"')
n=$(printf '%s\n' before-renewal after-renewal after-reload after-refused-reload | wc -c)
expect_eq "$(jq -c '[.["network.bytes_up"], .["network.bytes_down"]]' <<<"$close")" "[$n,$n]" "the old tunnel's bytes, exact, in its close record"
log "ok"
