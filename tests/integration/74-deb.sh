#!/usr/bin/env bash
# The Debian packages: lintian finds no error in them; installed into this
# machine's dpkg they make the mwg user and groups and the directories of
# operations.md §3 with their owners and modes, mark the example configs
# as conffiles, and the unit's own ExecStartPre (mwgd -n) accepts the
# installed example once the operator has made the CA (operations.md §2);
# installed again (an upgrade to the same version) they keep an edited
# conffile; purged, they leave no file or directory behind, and what mwgd or the
# operator wrote (the audit trail) is kept, and said so, never deleted.
# Root only (it installs packages): anyone else gets "skip". It runs
# `make deb`, which reuses the objects in build/deb-obj: about 20 s from
# nothing, a few seconds after that.
. "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ]; then skip "installs packages into this machine's dpkg; needs root"; fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEBS=$SRC/build/deb
GW_DEB=$DEBS/mwg-gateway_*_*.deb
CL_DEB=$DEBS/mwg-client_*_*.deb
MADE_DIRS=(/etc/mwg /var/lib/mwg /var/lib/mwg/state /var/log/mwg)

# Never touch an mwg that this test did not install.
for p in mwg-gateway mwg-client; do
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed ||
		fail "$p is already installed here; remove it first"
done
for d in "${MADE_DIRS[@]}"; do
	[ ! -e "$d" ] || fail "$d exists already; this test would make and remove it"
done
# The package keeps its system user and groups at purge (Debian's way);
# the test removes those it caused, so that each run sees them made.
had_accounts=$(getent passwd mwg || true; getent group mwg mwg-admin mwg-audit || true)
[ -z "$had_accounts" ] || log "note: mwg's user or groups exist already: $had_accounts"
drop_accounts() {
	[ -z "$had_accounts" ] || return 0
	getent passwd mwg >/dev/null && userdel mwg
	for g in mwg mwg-admin mwg-audit; do
		getent group "$g" >/dev/null && groupdel "$g"
	done
	return 0
}
installed=0
purge_all() {
	[ "$installed" -eq 1 ] || { drop_accounts; return 0; }
	rm -rf /etc/mwg/ca
	dpkg --purge mwg-gateway mwg-client >"$T/purge-trap.out" 2>&1 || true
	drop_accounts
}
trap 'rc=$?; trap - ERR; purge_all; (exit $rc); cleanup' EXIT

# ---- the packages --------------------------------------------------------
# Always through make deb: it is incremental (objects in build/deb-obj), a
# few seconds when nothing changed, so the .debs are never stale.
log "building the packages (make deb)"
start=$(date +%s)
make -s -C "$SRC" deb >"$T/make-deb.out" 2>&1 ||
	{ tail -30 "$T/make-deb.out" >&2; fail "make deb failed"; }
log "make deb took $(($(date +%s) - start)) s"
GW_DEB=$(echo $GW_DEB)
CL_DEB=$(echo $CL_DEB)
[ -f "$GW_DEB" ] && [ -f "$CL_DEB" ] || fail "make deb made no .debs in $DEBS"

lintian --tag-display-limit 0 "$GW_DEB" "$CL_DEB" >"$T/lintian.out" 2>&1 || true
grep -v '^running with root' "$T/lintian.out" >&2 || true
expect_eq "$(grep -c '^E: ' "$T/lintian.out" || true)" 0 "lintian: no error"

# What exists before: after the purge exactly this must exist again.
{ dpkg-deb --fsys-tarfile "$GW_DEB"; } | tar -t | sed 's|^\./|/|; s|/$||' |
	grep -v '^$' >"$T/paths"
dpkg-deb --fsys-tarfile "$CL_DEB" | tar -t | sed 's|^\./|/|; s|/$||' |
	grep -v '^$' >>"$T/paths"
printf '%s\n' "${MADE_DIRS[@]}" /etc/mwg/ca /run/mwg >>"$T/paths"
sort -u -o "$T/paths" "$T/paths"
snapshot() {	# the paths of the list that exist, and mwgd's systemd state
	while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done <"$T/paths"
	find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
		/var/lib/systemd/deb-systemd-helper-masked -name '*mwgd*' 2>/dev/null || true
}
snapshot >"$T/before"
grep -qx /usr/sbin/mwgd "$T/paths" && grep -qx /usr/bin/mwg "$T/paths" ||
	fail "the packages do not hold /usr/sbin/mwgd and /usr/bin/mwg"

install_pkgs() {
	installed=1
	dpkg -i "$GW_DEB" "$CL_DEB" >"$T/install.out" 2>&1 ||
		{ cat "$T/install.out" >&2; fail "dpkg -i failed"; }
}

# ---- installed -----------------------------------------------------------
install_pkgs
log "ok: dpkg -i mwg-gateway mwg-client"
for p in mwg-gateway mwg-client; do
	expect_eq "$(dpkg-query -W -f='${Status}' "$p")" "install ok installed" "$p installed"
done
expect_eq "$(id -u mwg >/dev/null && getent passwd mwg | cut -d: -f6,7)" \
	"/var/lib/mwg:/usr/sbin/nologin" "user mwg, home /var/lib/mwg, no shell"
[ "$(id -u mwg)" -lt 1000 ] || fail "mwg is not a system user (uid $(id -u mwg))"
for g in mwg mwg-admin mwg-audit; do
	getent group "$g" >/dev/null || fail "group $g was not made"
done
log "ok: groups mwg, mwg-admin and mwg-audit"
dirs=$(stat -c '%n %U:%G %a' /etc/mwg /var/lib/mwg /var/lib/mwg/state /var/log/mwg)
expect_eq "$dirs" "/etc/mwg root:root 755
/var/lib/mwg mwg:mwg 755
/var/lib/mwg/state mwg:mwg 700
/var/log/mwg mwg:mwg 750" "directories, owners and modes of operations.md §3"
expect_eq "$(dpkg-query -W -f='${Conffiles}' mwg-gateway | awk '{print $1}' | sort | tr '\n' ' ')" \
	"/etc/mwg/mwgd.conf /etc/mwg/policy.conf /etc/pam.d/mwg " "conffiles"
unit=/lib/systemd/system/mwgd.service
[ -f "$unit" ] || fail "no $unit"
for exe in $(grep -E '^Exec[A-Za-z]*=' "$unit" | sed -E 's/^[^=]*=[-@+!]*//' | awk '{print $1}'); do
	[ -x "$exe" ] || fail "the unit runs $exe, which the package does not have"
done
expect_eq "$(grep '^ExecStart=' "$unit")" "ExecStart=/usr/sbin/mwgd -f /etc/mwg/mwgd.conf" "the unit's ExecStart"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
log "ok: systemd-analyze verify accepts the installed unit"
doc=$(sed -n 's|^Documentation=.*file://\([^ ]*\).*|\1|p' "$unit")
[ -f "$doc" ] || fail "the unit's Documentation= names $doc, not installed"
log "ok: the unit's programs and documentation are where the package put them"
for page in mwg.1 mwgd.conf.5 policy.conf.5 mwgd.8 mwgctl.8; do
	name=${page%.*}
	expect_eq "$(man -w "${page##*.}" "$name")" "/usr/share/man/man${page##*.}/$page.gz" "man $name"
done
MANWIDTH=80 man 5 mwgd.conf 2>/dev/null | grep -q 'worker-connections' ||
	fail "man mwgd.conf does not render"
"$(command -v mwg)" --help >/dev/null || fail "mwg from mwg-client does not run"
[ "$(command -v mwg)" = /usr/bin/mwg ] || fail "mwg is $(command -v mwg)"

# The operator's first steps (operations.md §2, §3), then the unit's check.
mwgctl ca init --dir /etc/mwg/ca --host gw.example.org >"$T/ca.out" 2>&1 ||
	{ cat "$T/ca.out" >&2; fail "mwgctl ca init failed"; }
chgrp mwg /etc/mwg/ca && chmod 0750 /etc/mwg/ca
chown mwg:mwg /etc/mwg/ca/server.key /etc/mwg/ca/issuing.key
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
expect_eq "$pre" "/usr/sbin/mwgd -n -f /etc/mwg/mwgd.conf" "the unit's ExecStartPre"
# As the unit runs it: as mwg, reading the keys mwg owns (0600).
[ "$(stat -c '%U %a' /etc/mwg/ca/issuing.key /etc/mwg/ca/server.key | sort -u)" = "mwg 600" ] ||
	fail "the CA keys are not mwg's and 0600"
expect_eq "$(stat -c '%U:%G %a' /var/empty)" "root:root 755" "network-root /var/empty: root's, 0755"
out=$(setpriv --reuid=mwg --regid=mwg --init-groups $pre 2>&1) || fail "$pre (as mwg) refused the installed example: $out"
expect_match "$out" "^/etc/mwg/mwgd.conf: configuration OK \([0-9]+ targets, policy sha256 [0-9a-f]{64}\)$" \
	"mwgd -n accepts the installed mwgd.conf and policy.conf"

# An upgrade (here: the same version again) keeps the operator's edits.
echo '# edited by the operator' >>/etc/mwg/policy.conf
dpkg -i "$GW_DEB" "$CL_DEB" >"$T/reinstall.out" 2>&1 </dev/null ||
	{ cat "$T/reinstall.out" >&2; fail "installing over the installed packages failed"; }
expect_eq "$(tail -1 /etc/mwg/policy.conf)" "# edited by the operator" \
	"installed again: the edited conffile is kept, without a question"
[ -f /etc/mwg/ca/issuing.key ] || fail "installing again touched /etc/mwg/ca"

# ---- purged: nothing left ------------------------------------------------
rm -rf /etc/mwg/ca	# the operator's CA: the root key goes offline (§2)
dpkg --purge mwg-gateway mwg-client >"$T/purge.out" 2>&1 ||
	{ cat "$T/purge.out" >&2; fail "dpkg --purge failed"; }
installed=0
for p in mwg-gateway mwg-client; do
	expect_eq "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || echo gone)" \
		"gone" "$p purged (not even config-files)"
done
snapshot >"$T/after"
diff -u "$T/before" "$T/after" >&2 || fail "the purge left files behind (+ lines)"
log "ok: after the purge the $(wc -l <"$T/paths") paths are as before the install"
getent passwd mwg >/dev/null || fail "the purge removed the user mwg (Debian keeps system users)"

# ---- purged with an audit trail: the trail stays -----------------------
install_pkgs
echo '{"seq":1}' >/var/log/mwg/audit.jsonl
dpkg --purge mwg-gateway mwg-client >"$T/purge2.out" 2>&1 ||
	{ cat "$T/purge2.out" >&2; fail "dpkg --purge failed"; }
installed=0
[ -f /var/log/mwg/audit.jsonl ] || fail "the purge deleted the audit trail"
grep -q 'mwg-gateway: kept /var/log/mwg' "$T/purge2.out" ||
	fail "the purge did not say it kept /var/log/mwg: $(cat "$T/purge2.out")"
for d in /etc/mwg /var/lib/mwg; do
	[ ! -e "$d" ] || fail "$d is left after the purge"
done
log "ok: a purge keeps the audit trail (and says so) and removes the rest"
rm -f /var/log/mwg/audit.jsonl && rmdir /var/log/mwg
snapshot >"$T/after"
diff -u "$T/before" "$T/after" >&2 || fail "files left behind (+ lines)"
