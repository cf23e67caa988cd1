#!/usr/bin/env bash
# The console's login follows the staff login's rules, because mwgd checks
# both with the same store: failures throttle the person (a staff login of
# the same person is throttled too), a locked person cannot log in, and
# every attempt is recorded with the factor that failed. A session ends
# after --idle seconds unused, and each request keeps it alive.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
console_setup
start_console --idle 10
GENERIC='the user name, password or code is not right'

# ---- throttling shared with staff logins ---------------------------------
totp_settle
for i in 1 2 3; do
	expect_eq "$(console_login carol wrong-password-$i 000000)" 401 "carol: wrong password ($i)"
done
expect_eq "$(console_login carol "$CAROL_PW" "$(console_code carol)")" 401 "the right password and code, while throttled"
expect_match "$(cat "$T/login-carol.html")" 'too many failed attempts: try again in [0-9]+ seconds' "the page says to wait"
audit_wait '.["event.action"]=="console.login" and .["user.name"]=="carol" and .["event.reason"]=="throttled"' 1
r=$(gw_login carol-laptop carol "$CAROL_PW" "$(console_code carol)" 127.0.0.21)
expect_eq "$(tail -1 <<<"$r")" 429 "a staff login of carol is throttled by her console failures"
# Wait out the throttle (2 s after the third failure), then the code works:
# the throttled attempts did not spend it.
for _ in $(seq 100); do
	[ "$(console_login carol "$CAROL_PW" "$(console_code carol)")" = 303 ] && break
	grep -q 'too many failed attempts' "$T/login-carol.html" || fail "carol refused: $(grep -o 'id="refused">[^<]*' "$T/login-carol.html")"
	sleep 0.5
done
[ -s "$T/jar-carol" ] || fail "carol never got in after the throttle"
log "ok: carol gets in once the throttle allows"

# ---- a locked person -----------------------------------------------------
"$BIN/mwgctl" -s "$CTL" lock user erin --reason "left the team" >/dev/null
expect_eq "$(CONSOLE_SRC=127.0.0.22 console_login erin "$ERIN_PW" "$(console_code erin)")" 401 "locked erin is refused"
expect_match "$(cat "$T/login-erin.html")" "$GENERIC" "with the one answer"
audit_wait '.["event.action"]=="console.login" and .["user.name"]=="erin" and (.["event.reason"]|test("^user locked"))' 1
log "ok: a lock on a person holds for the console"

# ---- idle sessions end ---------------------------------------------------
# From another address: 127.0.0.1 is throttled by carol's failures.
expect_eq "$(CONSOLE_SRC=127.0.0.23 console_login dave "$DAVE_PW" "$(console_code dave)")" 303 "dave logs in"
start=$(date +%s)
for _ in 1 2 3; do	# used every 6 s: lives past its 10 s idle time
	sleep 6
	expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' "$CONSOLE/devices")" 200 "used after 6 s idle"
done
[ $(( $(date +%s) - start )) -ge 17 ] || fail "the checks above were too quick"
sleep 11
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' "$CONSOLE/devices")" 401 "after 11 s idle the session is gone"
log "ok: a session ends after --idle unused, not while used"

stop_console
stop_mwgd
log "PASS"
