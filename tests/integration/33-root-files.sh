#!/usr/bin/env bash
# mwgd opens no file as root through a path its user can change. The
# daemon's user (nobody here) owns state-dir and the audit directory, so it
# could plant a link or a second name there: for each file mwgd touches
# (audit file, FILE.torn, host keys, audit key, state-dir itself, the
# control socket, secrets.key, the CRL, the forwarder's position) a link
# is planted, mwgd says exactly what is wrong, and the target keeps its
# bytes, owner and mode. Then a clean start shows the files are still made.
. "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ]; then skip "the point is what root opens"; fi
SSH_PORT=$((BASE + 9))
UDP_PORT=$((BASE + 5))
STATE=$T/state

# Root's own files an attacker would aim at, in a directory only root may
# write (stand-ins for /etc/shadow, /etc/ld.so.preload, another key).
mkdir -m 755 "$T/etc"
printf 'root:$6$not-a-real-hash:19000::::::\n' >"$T/etc/shadow"
chmod 600 "$T/etc/shadow"
: >"$T/etc/empty"			# recovery would take an empty file as a log
chmod 600 "$T/etc/empty"
openssl genpkey -algorithm ed25519 -out "$T/etc/other.key" 2>/dev/null
chmod 600 "$T/etc/other.key"

make_ca
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
cp "$T/mwgd.conf" "$T/good.conf"

# Owner, group, mode, link count and SHA-256 of every target, before.
fingerprint() { stat -c '%u:%g %a %h' "$1"; sha256sum <"$1"; }
TARGETS=("$T/etc/shadow" "$T/etc/empty" "$T/etc/other.key" "$T/ca/root.key")
declare -A BEFORE=()
for f in "${TARGETS[@]}"; do BEFORE[$f]=$(fingerprint "$f"); done
untouched() {	# what
	for f in "${TARGETS[@]}"; do
		[ "$(fingerprint "$f")" = "${BEFORE[$f]}" ] ||
			fail "$1: $f changed: $(fingerprint "$f" | tr '\n' ' ')"
	done
	for f in "$T/etc/created" "$T/etc/created-key"; do
		[ -e "$f" ] && fail "$1: root made $f through a dangling link"
	done
	log "ok: $1: every target untouched (bytes, owner, mode, links)"
}

# mwgd run in the foreground must stop at start (exit 1) with the message;
# then the targets are checked (with "linked": by the caller, once the
# planted second name is gone, as it counts as a link of the target).
refused() {	# what regex [linked]
	local rc=0 out
	out=$(timeout 20 env "${MWGD_ENV[@]}" "$BIN/mwgd" -f "$T/mwgd.conf" 2>&1) || rc=$?
	printf '%s\n' "$out" >>"$T/refusals.log"
	if grep -Eq 'Sanitizer|runtime error' <<<"$out"; then
		fail "$1: sanitizer report: $(grep -Em3 'Sanitizer|runtime error' <<<"$out")"
	fi
	expect_eq "$rc" 1 "$1: mwgd refuses to start"
	expect_match "$out" "$2" "$1: the error names the path and what is wrong"
	[ "${3:-}" = linked ] || untouched "$1"
}

# A first, clean start makes the audit file, the keys and the store.
start_mwgd
stop_mwgd
for f in "$AUDIT" "$STATE/audit.key" "$STATE/ssh_host_ecdsa_key" "$STATE/ssh_host_ed25519_key"; do
	[ -f "$f" ] && [ ! -L "$f" ] || fail "the first start did not make $f"
done
expect_eq "$(stat -c %U "$AUDIT")" nobody "the audit file is given to the daemon's user"
cp -p "$AUDIT" "$T/audit.saved"

# ---- the audit file -----------------------------------------------------
rm "$AUDIT"
ln -s "$T/etc/empty" "$AUDIT"
refused "audit file is a link to root's file" \
	"cannot open the audit file: $AUDIT: is a symbolic link; refusing to follow it"
rm "$AUDIT"
ln -s "$T/etc/created" "$AUDIT"
refused "audit file is a dangling link" \
	"cannot open the audit file: $AUDIT: is a symbolic link; refusing to follow it"
rm "$AUDIT"
ln "$T/etc/empty" "$AUDIT"	# what a user may do where protected_hardlinks is off
refused "audit file is a second name of root's file" \
	"cannot open the audit file: $AUDIT has 2 hard links; refusing it \\(another name could be any file\\)" linked
rm "$AUDIT"
untouched "audit file is a second name of root's file"
cp -p "$T/audit.saved" "$AUDIT"
chown 12345 "$AUDIT"
refused "audit file of another user" \
	"cannot open the audit file: $AUDIT is owned by uid 12345; expected root or uid 65534"
cp -p "$T/audit.saved" "$AUDIT"
chmod 777 "$T/log"
refused "audit directory anyone can write" \
	"cannot open the audit file: directory $T/log is writable by anyone \\(mode 0777\\); refusing to use it"
chmod 755 "$T/log"

# ---- FILE.torn: a crash left half a line, and a link waits for it --------
printf '{"seq":99,"half' >>"$AUDIT"
size=$(stat -c %s "$AUDIT")
ln -s "$T/etc/shadow" "$AUDIT.torn"
refused "FILE.torn is a link" \
	"cannot set the torn end of $AUDIT aside: $AUDIT.torn: is a symbolic link; refusing to follow it"
expect_eq "$(stat -c %s "$AUDIT")" "$size" "the torn bytes stay in the audit file, not lost"
rm "$AUDIT.torn"

# ---- SSH host keys: root must never serve the CA's key as its own --------
mv "$STATE/ssh_host_ecdsa_key" "$T/ecdsa.saved"
ln -s "$T/ca/root.key" "$STATE/ssh_host_ecdsa_key"
refused "host key is a link to the root CA's key" \
	"listen ssh 127.0.0.1:$SSH_PORT: cannot load host key: $STATE/ssh_host_ecdsa_key: is a symbolic link; refusing to follow it"
rm "$STATE/ssh_host_ecdsa_key"
ln "$T/ca/root.key" "$STATE/ssh_host_ecdsa_key"
refused "host key is a second name of the root CA's key" \
	"cannot load host key: $STATE/ssh_host_ecdsa_key has 2 hard links; refusing it" linked
rm "$STATE/ssh_host_ecdsa_key"
untouched "host key is a second name of the root CA's key"
ln -s "$T/etc/created-key" "$STATE/ssh_host_ecdsa_key"
refused "host key is a dangling link (root would make the key there)" \
	"cannot load host key: $STATE/ssh_host_ecdsa_key: is a symbolic link; refusing to follow it"
rm "$STATE/ssh_host_ecdsa_key"
mv "$T/ecdsa.saved" "$STATE/ssh_host_ecdsa_key"

# ---- the audit key (default: in state-dir) -------------------------------
mv "$STATE/audit.key" "$T/audit.key.saved"
ln -s "$T/etc/other.key" "$STATE/audit.key"
refused "audit key is a link to another Ed25519 key" \
	"cannot load the audit key: $STATE/audit.key: is a symbolic link; refusing to follow it"
rm "$STATE/audit.key"
mv "$T/audit.key.saved" "$STATE/audit.key"

# ---- state-dir itself, through a directory the daemon's user owns -------
mkdir -p "$T/var"
chown nobody:nogroup "$T/var"
# What root would read there: keys of its own under the expected names.
cp -p "$STATE/audit.key" "$STATE/ssh_host_ecdsa_key" "$STATE/ssh_host_ed25519_key" "$T/etc/"
ln -s "$T/etc" "$T/var/state"
chown -h nobody:nogroup "$T/var/state"
sed "s|^state-dir .*|state-dir $T/var/state|" "$T/good.conf" >"$T/mwgd.conf"
refused "state-dir is a link planted by the daemon's user" \
	"$T/var/state is a symbolic link in a directory that uid 65534 can change; refusing to follow it \\(name the real directory instead\\)"
rm "$T/etc/audit.key" "$T/etc/ssh_host_ecdsa_key" "$T/etc/ssh_host_ed25519_key"

# ---- the control socket ----------------------------------------------------
sed "s|^control .*|control $T/etc/shadow|" "$T/good.conf" >"$T/mwgd.conf"
refused "control names a file that is not a socket" \
	"$T/etc/shadow exists and is not a socket; refusing to replace it"
mkdir -p "$T/run"
chown nobody:nogroup "$T/run"
ln -s "$T/etc/shadow" "$T/run/control"
sed "s|^control .*|control $T/run/control|" "$T/good.conf" >"$T/mwgd.conf"
refused "control socket path is a link" \
	"$T/run/control exists and is not a socket; refusing to replace it"
cp "$T/good.conf" "$T/mwgd.conf"

# ---- secrets.key (opened after the drop, as the daemon's user) -----------
mv "$STATE/secrets.key" "$T/secrets.saved"
ln -s "$T/etc/other.key" "$STATE/secrets.key"
refused "secrets.key is a link" \
	"state store: $STATE/secrets.key: is a symbolic link; refusing to follow it"
rm "$STATE/secrets.key"
mv "$T/secrets.saved" "$STATE/secrets.key"

# ---- a clean start: CRL and forwarder position replace their links -------
# A sink for the forwarder: it saves its position once a batch is sent.
python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1])))
while True: s.recv(65536)' "$UDP_PORT" &
PIDS+=($!)
AUDIT_EXTRA="syslog udp://127.0.0.1:$UDP_PORT" write_conf "listen ssh 127.0.0.1:$SSH_PORT"
for f in "$STATE/crl.pem" "$STATE/.crl.pem.tmp" "$STATE/crl.pem.tmp" \
	"$AUDIT.forward-state" "$T/log/.audit.jsonl.forward-state.tmp" "$AUDIT.forward-state.tmp"; do
	rm -f "$f"
	ln -s "$T/etc/shadow" "$f"
done
start_mwgd
for _ in $(seq 200); do
	[ -f "$AUDIT.forward-state" ] && [ ! -L "$AUDIT.forward-state" ] && break
	sleep 0.05
done
[ -L "$AUDIT.forward-state" ] && fail "the forwarder never saved its position"
grep -q "audit forwarder: cannot read its position ($AUDIT.forward-state: is a symbolic link; refusing to follow it)" "$T/mwgd.log" ||
	fail "no clear line about the forwarder's linked position file"
log "ok: the forwarder refused to read through its linked position file"
[ ! -L "$STATE/crl.pem" ] && [ -f "$STATE/crl.pem" ] || fail "crl.pem is still the planted link"
grep -q -- "-----BEGIN X509 CRL-----" "$STATE/crl.pem" || fail "crl.pem holds no CRL"
log "ok: the CRL and the forwarder position replaced their links, not the target"
expect_eq "$(stat -c %U "$AUDIT")" nobody "the audit file is still the daemon's user's"
stop_mwgd
untouched "clean start with planted links"
# The torn half line was set aside for real this time, and the trail holds.
expect_eq "$(stat -c '%F' "$AUDIT.torn")" "regular file" "FILE.torn is a file of its own"
expect_eq "$(cat "$AUDIT.torn")" '{"seq":99,"half' "the torn bytes are kept"
"$BIN/mwgctl" audit verify --key "$STATE/audit.key.pub" "$AUDIT" >/dev/null ||
	fail "the audit trail does not verify after the refusals"
log "ok: the audit trail verifies after every refusal"
