#!/usr/bin/env bash
# Locks: `mwgctl lock user|device` takes effect at once — live tunnels of
# that person or device close within a second, new CONNECTs are refused —
# and lock, unlock and expiry are audited with the administrator's uid.
. "$(dirname "$0")/common.sh"
setup_default
other_device=laptop-2
make_device "$other_device"

# Reads from the open tunnel until it closes; prints milliseconds taken.
ms_until_closed() {
	local t0=$1 line
	while read -r -t 5 line <&"$tout"; do :; done
	echo $(( $(date +%s%3N) - t0 ))
}

open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
t0=$(date +%s%3N)
out=$("$BIN/mwgctl" -s "$CTL" lock user alice --reason "left the practice")
expect_match "$out" "closed 1 tunnel" "lock says how many tunnels it closed"
took=$(ms_until_closed "$t0")
[ "$took" -lt 1000 ] || fail "tunnel closed after $took ms, not within 1 s"
log "ok: alice's tunnel closed $took ms after the lock"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="user-locked"' 1
expect_eq "$(audit_count '.["event.action"]=="lock.add" and .["user.name"]=="alice" and .["user.id"]=='"$(id -u)"' and .["event.reason"]=="left the practice"')" 1 "lock.add audited with the admin's uid and the reason"

code=$(gw_curl "$other_device" -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 403 "a locked person's new CONNECT is refused"
audit_wait '.["event.action"]=="tunnel.deny" and (.["event.reason"]|test("locked: left the practice"))' 1
expect_match "$("$BIN/mwgctl" -s "$CTL" lock list)" "user +alice +never +active .* left the practice" "lock list shows the lock"

"$BIN/mwgctl" -s "$CTL" unlock user alice >/dev/null
audit_wait '.["event.action"]=="lock.remove" and .["user.name"]=="alice"' 1
expect_eq "$(audit_count '.["event.action"]=="lock.remove" and .["user.name"]=="alice"')" 1 "unlock audited"
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
log "ok: unlocked person connects again"

# A device lock with a time limit: closes the device's tunnel, then runs out.
t0=$(date +%s%3N)
"$BIN/mwgctl" -s "$CTL" lock device laptop-1 --ttl 3s --reason "reported stolen" >/dev/null
took=$(ms_until_closed "$t0")
[ "$took" -lt 1000 ] || fail "device tunnel closed after $took ms"
log "ok: laptop-1's tunnel closed $took ms after the device lock"
code=$(gw_curl laptop-1 -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 403 "a locked device's CONNECT is refused"
code=$(gw_curl "$other_device" -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 200 "another device of the same person still works"
# The lock runs out after its 3 s ttl: not before, and not long after.
while :; do
	code=$(gw_curl laptop-1 -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
	ms=$(( $(date +%s%3N) - t0 ))
	[ "$code" = 200 ] || [ "$ms" -gt 6000 ] && break
	sleep 0.1
done
expect_eq "$code" 200 "the device lock ran out after its ttl"
[ "$ms" -ge 2000 ] && [ "$ms" -le 5000 ] || fail "the 3 s device lock ran out after $ms ms"
log "ok: the 3 s device lock ran out after $ms ms"

rc=0; err=$("$BIN/mwgctl" -s "$CTL" unlock user nobody-here 2>&1) || rc=$?
expect_eq "$rc" 1 "unlock of someone not locked exits 1"
expect_match "$err" "not locked" "... and says so"
rc=0; "$BIN/mwgctl" -s "$CTL" lock user alice 2>/dev/null || rc=$?
expect_eq "$rc" 2 "lock without --reason is a usage error"
rc=0; err=$("$BIN/mwgctl" -s "$CTL" lock user '../etc' --reason x 2>&1) || rc=$?
expect_eq "$rc" 2 "lock of an invalid user name is a usage error"
expect_eq "$(head -1 <<<"$err")" "mwgctl: lock: invalid user name (a-z, 0-9, '.', '_', '-'; 1 to 63, not starting with '.' or '-')" "... and says what a name may hold"
rc=0; err=$("$BIN/mwgctl" -s "$CTL" lock device 'Laptop 1' --reason x 2>&1) || rc=$?
expect_eq "$rc" 2 "lock of an invalid device id is a usage error"
expect_eq "$(head -1 <<<"$err")" "mwgctl: lock: invalid device id (a-z, 0-9, '-'; 1 to 63, not starting with '-')" "... and says what an id may hold"
expect_eq "$(audit_count '.["event.action"]=="lock.add"')" 2 "no lock was added for an invalid name"
stop_mwgd
