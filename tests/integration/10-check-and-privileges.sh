#!/usr/bin/env bash
# mwgd -n checks a configuration without running and reports every error
# with file:line:column; a running mwgd has dropped root for good; keys are
# created 0600 and an existing CA is never overwritten.
. "$(dirname "$0")/common.sh"
make_ca
write_policy
write_conf
out=$("$BIN/mwgd" -n -f "$T/mwgd.conf")
expect_match "$out" "configuration OK \(4 targets" "mwgd -n accepts a good file"

cat >"$T/bad.conf" <<BAD
workers 0
listen tls 127.0.0.1:99999 {
    certificate /nonexistent
}
frobnicate yes
user "a" "b"
BAD
rc=0; err=$("$BIN/mwgd" -n -f "$T/bad.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "mwgd -n rejects a bad file"
expected="$T/bad.conf:1:9: expected a number from 1 to 64, got '0'
$T/bad.conf:2:12: expected an address IP:PORT or [IPv6]:PORT, got '127.0.0.1:99999'
$T/bad.conf:5:1: unknown keyword 'frobnicate'
$T/bad.conf:6:1: user takes 1 argument, got 2
$T/bad.conf: no 'listen tls' statement
mwgd: $T/bad.conf: configuration refused (5 errors)"
expect_eq "$err" "$expected" "every error reported with its position"
# The CA key is checked too: a wrong path fails the check, not the start.
sed "s|ca-key      $T/ca/issuing.key|ca-key      $T/ca/server.key|" "$T/mwgd.conf" >"$T/wrongkey.conf"
rc=0; err=$("$BIN/mwgd" -n -f "$T/wrongkey.conf" 2>&1) || rc=$?
expect_eq "$rc" 1 "mwgd -n refuses a ca-key that does not match the CA"
expect_match "$err" "ca-key: " "... and names the ca-key"
rc=0; "$BIN/mwgd" -n 2>/dev/null || rc=$?
expect_eq "$rc" 2 "missing -f is a usage error"
expect_match "$("$BIN/mwgd" --help)" "SYNOPSIS" "mwgd --help"

# Keys 0600; a second ca init refuses and changes nothing.
expect_eq "$(stat -c %a "$T/ca/root.key")" 600 "root key mode"
expect_eq "$(stat -c %a "$T/ca/issuing.key")" 600 "issuing key mode"
before=$(sha256sum "$T/ca/root.pem")
rc=0; "$BIN/mwgctl" ca init --dir "$T/ca" --host 127.0.0.1 2>/dev/null || rc=$?
expect_eq "$rc" 1 "ca init refuses an existing CA"
expect_eq "$(sha256sum "$T/ca/root.pem")" "$before" "existing CA unchanged"

if [ "$(id -u)" -eq 0 ]; then
	start_backend http "$HTTP_PORT"
	start_mwgd
	uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$MWGD_PID/status")
	expect_eq "$uids" "65534 65534 65534 65534" "mwgd runs as nobody (real, effective, saved, fs)"
	gids=$(awk '/^Groups:/ {print $2}' "/proc/$MWGD_PID/status")
	expect_eq "$gids" "65534" "no supplementary groups but nogroup"
	# A second mwgd on the same control socket refuses to start.
	rc=0; err=$("$BIN/mwgd" -f "$T/mwgd.conf" 2>&1) || rc=$?
	expect_eq "$rc" 1 "a second mwgd refuses to start"
	expect_match "$err" "another mwgd answers on $CTL" "and says why"
	# Without a user, root is refused.
	sed '/^user/d' "$T/mwgd.conf" >"$T/root.conf"
	rc=0; err=$("$BIN/mwgd" -f "$T/root.conf" 2>&1) || rc=$?
	expect_eq "$rc" 1 "refuses to run as root without a user"
	expect_match "$err" "refusing to run as root: set 'user'" "says why"
	stop_mwgd
else
	skip_part "privilege checks need root"
fi
