#!/usr/bin/env bash
# mwgctl ca server-cert, offline: a new key and server certificate signed
# by the root, in place of the old ones with their modes and owners, no
# file left behind; every refusal (wrong root key, missing root key, a
# link in place of server.pem, bad names) changes nothing. No daemon: 79
# checks that a running mwgd serves the new certificate after reload.
. "$(dirname "$0")/common.sh"
CA=$T/ca
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
sums() { sha256sum "$CA"/server.key "$CA"/server.pem; }
make_ca
old_fpr=$(fpr "$CA/server.pem")
old_key=$(sha256sum <"$CA/server.key")
key_own=$(stat -c '%04a %u:%g' "$CA/server.key")
pem_own=$(stat -c '%04a %u:%g' "$CA/server.pem")

out=$("$BIN/mwgctl" ca server-cert --dir "$CA" --host gw.example.org --host 127.0.0.1 --host ::1)
new_fpr=$(fpr "$CA/server.pem")
end=$(date -u -d "$(openssl x509 -in "$CA/server.pem" -noout -enddate | sed 's/^notAfter=//')" '+%Y-%m-%d %H:%M UTC')
expect_eq "$out" "wrote ${key_own%% *} ${key_own#* } $CA/server.key
wrote ${pem_own%% *} ${pem_own#* } $CA/server.pem
server certificate SHA-256 fingerprint: $new_fpr
expires $end; run mwgctl reload to serve it" "server-cert says what it wrote, the fingerprint and the expiry"
[ "$new_fpr" != "$old_fpr" ] || fail "the certificate did not change"
[ "$(sha256sum <"$CA/server.key")" != "$old_key" ] || fail "the key did not change"
expect_eq "$(stat -c '%04a %u:%g' "$CA/server.key") / $(stat -c '%04a %u:%g' "$CA/server.pem")" "$key_own / $pem_own" \
    "the new files keep the old modes, owners and groups"
expect_eq "$(openssl verify -CAfile "$CA/root.pem" "$CA/server.pem" 2>&1)" "$CA/server.pem: OK" "signed by the root"
rc=0; openssl verify -CAfile "$CA/issuing.pem" -partial_chain "$CA/server.pem" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the server certificate chains to the issuing CA (it could pass as a client)"
text=$(openssl x509 -in "$CA/server.pem" -noout -text)
expect_match "$text" "DNS:gw.example.org, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" "the --host names are the SANs"
expect_match "$(openssl x509 -in "$CA/server.pem" -noout -subject)" "CN ?= ?gw.example.org" "the first --host is the CN"
expect_match "$text" "TLS Web Server Authentication" "EKU serverAuth"
expect_match "$text" "CA:FALSE" "not a CA"
expect_eq "$(openssl pkey -in "$CA/server.key" -pubout)" "$(openssl x509 -in "$CA/server.pem" -noout -pubkey)" "the key is the certificate's"
expect_eq "$(ls -A "$CA" | tr '\n' ' ')" "issuing.key issuing.pem root.key root.pem server.key server.pem " "no temporary file left"
span() { date -d "$(openssl x509 -in "$CA/server.pem" -noout "-$1" | sed 's/^[^=]*=//')" +%s; }
expect_eq "$(( $(span enddate) - $(span startdate) ))" "$((397 * 86400 + 300))" "valid for 397 days (from 5 minutes back, for skew)"

# ---- refusals change nothing -------------------------------------------------
before=$(sums)
NFILES=6
refuse() {	# expected-rc expected-stderr what args...
	local want_rc=$1 want=$2 what=$3 rc=0 err; shift 3
	err=$("$BIN/mwgctl" ca server-cert "$@" 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" "$want_rc" "$what: exit status"
	expect_eq "$(head -1 <<<"$err")" "$want" "$what: the reason"
	expect_eq "$(sums)" "$before" "$what: server.key and server.pem unchanged"
	expect_eq "$(ls -A "$CA" | wc -l)" "$NFILES" "$what: no file left behind"
}
refuse 1 "mwgctl: ca server-cert: $CA/issuing.key is not the key of $CA/root.pem: key values mismatch" \
    "another key as the root key" --dir "$CA" --host gw.example.org --root-key "$CA/issuing.key"
mkdir "$T/offline"
mv "$CA/root.key" "$T/offline/root.key"
NFILES=5
refuse 1 "mwgctl: ca server-cert: cannot open $CA/root.key: No such file or directory" \
    "the root key moved offline" --dir "$CA" --host gw.example.org
"$BIN/mwgctl" ca server-cert --dir "$CA" --host gw.example.org --root-key "$T/offline/root.key" >/dev/null
expect_eq "$(openssl verify -CAfile "$CA/root.pem" "$CA/server.pem" 2>&1)" "$CA/server.pem: OK" "--root-key FILE signs from elsewhere"
mv "$T/offline/root.key" "$CA/root.key"
NFILES=6
before=$(sums)
refuse 1 "mwgctl: ca server-cert: host \"bad_host!\" is neither a DNS name nor an IP address" \
    "a bad host" --dir "$CA" --host bad_host!
refuse 2 "mwgctl: ca server-cert: --dir and --host are required" "no --host" --dir "$CA"
refuse 2 "mwgctl: ca server-cert: unknown option --frobnicate" "an unknown option" --dir "$CA" --host a --frobnicate
rc=0; err=$("$BIN/mwgctl" ca init --dir "$T/other" --host a --root-key "$CA/root.key" 2>&1) || rc=$?
expect_eq "$rc:$(head -1 <<<"$err")" "2:mwgctl: ca init: --root-key is an option of ca server-cert only" "--root-key is not an option of ca init"
# A link in place of server.pem is not written through.
mv "$CA/server.pem" "$T/server.pem.real"
ln -s "$T/elsewhere.pem" "$CA/server.pem"
before=$(sums 2>/dev/null || true)
rc=0; err=$("$BIN/mwgctl" ca server-cert --dir "$CA" --host gw.example.org 2>&1) || rc=$?
expect_eq "$rc:$err" "1:mwgctl: ca server-cert: $CA/server.pem is not a regular file; nothing written" "a link in place of server.pem is refused"
[ ! -e "$T/elsewhere.pem" ] || fail "written through the link"
expect_eq "$(ls -A "$CA" | wc -l)" 6 "nothing left behind after the refused link"
log "ok"
