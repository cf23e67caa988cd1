#!/usr/bin/env bash
# What the console shows when it cannot have a search recorded: nothing.
# With mwgd gone, a logged-in person's search, export and tunnel list are
# refused (no page of records, no file), and a login says the gateway
# cannot check identities. Oversized requests are refused at the door.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
console_setup
start_console
totp_settle
expect_eq "$(console_login carol "$CAROL_PW" "$(console_code carol)")" 303 "carol logs in"
page=$(ccurl -b "$T/jar-carol" "$CONSOLE/audit?event=totp.")
expect_match "$page" '<p id="count">5 matching records' "a search while mwgd runs"

# ---- bounds --------------------------------------------------------------
big=$(head -c 20000 /dev/zero | tr '\0' a)
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' --data "csrf=x&reason=$big" "$CONSOLE/logout")" 413 "a 20 KB body is refused"
expect_eq "$(ccurl -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$CONSOLE/login")" 400 "a 20 KB header is refused"
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' -G --data-urlencode "user=$(head -c 200 /dev/zero | tr '\0' a)" "$CONSOLE/audit")" 400 "a 200-byte search field is refused"
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' "$CONSOLE/audit?user=alice&page=200")" 400 "page 200 is past the last"
expect_eq "$(ccurl -o /dev/null -w "%{http_code}" -X DELETE "$CONSOLE/tunnels")" 501 "DELETE is refused by the server (GET and POST only)"

stop_mwgd
page=$(ccurl -b "$T/jar-carol" -w '\n%{http_code}' "$CONSOLE/audit?event=totp.")
expect_eq "$(tail -1 <<<"$page")" 502 "a search without mwgd"
expect_match "$page" 'could not be recorded in the audit trail, so nothing is shown' "says why"
if grep -q 'id="records"\|totp.enrol' <<<"$page"; then fail "records were shown unrecorded"; fi
out=$(ccurl -b "$T/jar-carol" -o "$T/export.csv" -w '%{http_code}' "$CONSOLE/export?practice=K84001")
expect_eq "$out" 502 "an export without mwgd"
if grep -q 'seq,@timestamp' "$T/export.csv"; then fail "an unrecorded export was sent"; fi
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' "$CONSOLE/tunnels")" 502 "the tunnel list without mwgd"
expect_eq "$(CONSOLE_SRC=127.0.0.41 console_login dave "$DAVE_PW" "$(console_code dave)")" 503 "a login without mwgd"
expect_match "$(cat "$T/login-dave.html")" 'the gateway cannot check identities right now' "says why"
log "ok: without mwgd nothing is shown, exported or logged into"

stop_console
log "PASS"
