#!/usr/bin/env bash
# What the SSH listener offers: curve25519 key exchange, AEAD ciphers,
# ETM SHA-2 MACs, the Ed25519 host key, no compression; and
# ssh-audit (2.5.0) finds nothing to fail. Its only complaint is that it
# does not know kex-strict-s-v00@openssh.com (the Terrapin fix, newer
# than 2.5.0): that one is read and allowed, nothing else.
. "$(dirname "$0")/common.sh"
command -v ssh-audit >/dev/null || fail "ssh-audit is not installed (deploy/deps.sh test)"
SSH_PORT=$((BASE + 9))
make_ca
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_mwgd
wait_port "$SSH_PORT"

out=$(ssh-audit -n -p "$SSH_PORT" 127.0.0.1 2>&1 || true)
printf '%s\n' "$out" >"$T/ssh-audit.out"
algs() { sed -n "s/^($1) \([^ ]*\).*/\1/p" <<<"$out" | sort | tr '\n' ' '; }
expect_eq "$(algs kex)" "curve25519-sha256 curve25519-sha256@libssh.org kex-strict-s-v00@openssh.com " "key exchange"
expect_eq "$(algs key)" "ssh-ed25519 " "host keys offered"
expect_eq "$(algs enc)" "aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com " "ciphers"
expect_eq "$(algs mac)" "hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com " "MACs"
bad=$(grep -E '\[fail\]' "$T/ssh-audit.out" | grep -v 'kex-strict-s-v00@openssh.com' || true)
[ -z "$bad" ] || fail "ssh-audit fails: $bad"
log "ok: ssh-audit: no failures (kex-strict-s-v00 unknown to 2.5.0 only)"
warn=$(grep -E '\[warn\]' "$T/ssh-audit.out" | grep -v 'kex-strict-s-v00@openssh.com' || true)
[ -z "$warn" ] || log "ssh-audit warnings (read them): $warn"
out=$(timeout 10 ssh -v -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o Compression=yes -p "$SSH_PORT" nobody@127.0.0.1 true 2>&1 || true)
expect_match "$out" "compression: none" "no compression even when the client asks"
expect_eq "$(grep -c '^(gen) compression: disabled' "$T/ssh-audit.out")" 1 "ssh-audit: compression disabled"
ciphers=$(timeout 10 ssh -o Ciphers=aes128-cbc -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -p "$SSH_PORT" nobody@127.0.0.1 true 2>&1 || true)
expect_match "$ciphers" "no matching cipher" "CBC refused"
stop_mwgd
