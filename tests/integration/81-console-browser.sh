#!/usr/bin/env bash
# The console in a real browser: Debian's headless Chromium driven by
# puppeteer-core (tests/browser/console.mjs). A cyber team member logs in
# with password and an oathtool code, searches for a person, downloads a
# practice's CSV (compared byte for byte with mwgctl audit export) and is
# refused a change; an IT member kills a live tunnel. The browser trusts
# the test CA through an NSS database under a throwaway HOME (real
# certificate checks, no --ignore-certificate-errors). Screenshots of each
# page go to $MWG_BUILD/test-logs/81-console-browser/.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${MWG_BUILD}/test-logs/$SCENARIO
command -v chromium >/dev/null || fail "chromium is not installed (deploy/deps.sh test)"
command -v certutil >/dev/null || fail "certutil is not installed (libnss3-tools)"
if [ ! -f "$SRC/tests/browser/node_modules/puppeteer-core/package.json" ]; then
	(cd "$SRC/tests/browser" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
		fail "npm ci in tests/browser failed"
fi
rm -rf "$OUT"
mkdir -p "$OUT"

console_setup
start_console
mkdir -p "$T/home/.pki/nssdb"
certutil -N -d "sql:$T/home/.pki/nssdb" --empty-password
certutil -A -d "sql:$T/home/.pki/nssdb" -n mwg-test-root -t "C,," -i "$T/ca/root.pem"

# Records for the search and the export, and a live tunnel to kill.
# Two live tunnels: IT kills one, cyber sees the other.
console_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
printf 'hello\n' >&"$tin"; read -r -t 5 _ <&"$tout"
console_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
audit_wait '.["event.action"]=="tunnel.open" and .["user.name"]=="alice"' 2

totp_settle
HOME="$T/home" AUDIT="$AUDIT" CONSOLE="https://127.0.0.1:$CONSOLE_PORT" OUT="$OUT" \
	ERIN_PW="$ERIN_PW" ERIN_CODE="$(console_code erin)" \
	FRANK_PW="$FRANK_PW" FRANK_CODE="$(console_code frank)" \
	timeout 120 node "$SRC/tests/browser/console.mjs" >"$T/browser.json" 2>"$T/browser.err" ||
	fail "the browser run failed: $(cat "$T/browser.json" "$T/browser.err" | tail -5)"
R=$(cat "$T/browser.json")
j() { jq -r "$1" <<<"$R"; }

expect_eq "$(j .cyber_who)" "erin (cyber)" "erin is logged in as cyber"
expect_eq "$(j .cyber_kill_forms)" 0 "cyber is offered no kill"
expect_eq "$(j .cyber_tunnel_rows)" 1 "cyber sees the live tunnel"
expect_match "$(j .search_count)" '^[0-9]+ matching records' "the search answers"
expect_eq "$(j '.search_people | join(",")')" alice "every record shown is alice's"
expect_match "$(j .search_verify)" '^Chain: OK: ' "the chain's status is shown"
expect_eq "$(j .cyber_lock_forms)" 0 "cyber is offered no lock"
expect_eq "$(j .cyber_change_status)" 403 "a change as cyber is refused"
expect_eq "$(j .cyber_change_text)" "this needs the IT role" "the refusal says why"
expect_eq "$(audit_count '.["event.action"]=="lock.add"')" 0 "nothing was locked"

# The downloaded CSV against mwgctl's export of the same practice.
expect_eq "$(basename "$(j .download)")" mwg-audit-K84001.csv "the download's name"
"$BIN/mwgctl" audit export -s "$CTL" --practice K84001 --format csv "$AUDIT" >"$T/mwgctl.csv"
cmp "$(j .download)" "$T/mwgctl.csv" || fail "the browser's CSV differs from mwgctl audit export"
[ "$(grep -c ',K84001,' "$T/mwgctl.csv")" -ge 1 ] || fail "the export has no K84001 record"
log "ok: the browser's CSV is byte for byte mwgctl's ($(wc -c <"$T/mwgctl.csv") bytes)"

expect_eq "$(j .it_who)" "frank (it)" "frank is logged in as IT"
expect_match "$(j .it_row)" 'alice.*laptop-1.*K84001.*echo\.K84001' "IT sees who, device, practice, target"
expect_eq "$(j .it_after_url)" "https://127.0.0.1:$CONSOLE_PORT/tunnels" "back on the tunnels page"
expect_eq "$(j .it_rows_after)" 1 "the killed tunnel is gone, the other stays"
expect_eq "$(j .it_lock_forms)" 1 "IT is offered a lock"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close" and .["event.reason"]=="killed-by-admin" and .["tunnel.id"]=='"$(j .it_killed)"'')" 1 "the tunnel IT chose was cut"
audit_wait '.["event.action"]=="console.kill" and .["user.name"]=="frank" and .["event.reason"]=="browser test: suspected misuse"' 1
audit_wait '.["event.action"]=="console.view" and .["user.name"]=="erin" and .["audit.filter"].user=="alice"' 1
audit_wait '.["event.action"]=="console.export" and .["user.name"]=="erin" and .["audit.filter"].practice=="K84001"' 1
expect_eq "$(audit_count '.["event.action"]=="console.login" and .["event.outcome"]=="success"')" 2 "two console logins"

for s in 01-login 02-tunnels-cyber 03-audit-search 04-audit-search-tablet 05-exports 06-cyber-refused 07-tunnels-it 08-tunnels-after-kill 09-devices 10-locks-it; do
	[ -s "$OUT/$s.png" ] || fail "no screenshot $s.png"
done
log "ok: screenshots in $OUT"

stop_console
stop_mwgd
log "PASS"
