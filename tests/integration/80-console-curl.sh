#!/usr/bin/env bash
# The console with plain curl: login with password and TOTP (checked by
# mwgd, each code once), the cookie's attributes and the CSP, the refusals
# (no session, wrong role, missing or wrong CSRF token, a person in
# neither group), search fields and record text rendered inert, and every
# console search, view, export and change in the audit trail naming the
# console user.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
console_setup
start_console

# ---- no session ----------------------------------------------------------
for path in /tunnels /audit '/audit?user=alice' /exports '/export?practice=K84001' /devices /locks; do
	expect_eq "$(ccurl -o /dev/null -w '%{http_code}' "$CONSOLE$path")" 401 "GET $path without a session"
done
for path in /tunnels/kill /locks/add /locks/remove /logout; do
	expect_eq "$(ccurl -o /dev/null -w '%{http_code}' --data 'id=1&reason=x' "$CONSOLE$path")" 401 "POST $path without a session"
done
expect_eq "$(ccurl -o /dev/null -w '%{http_code}' -b 'mwgc=0000000000000000000000000000000000000000000000000000000000000000' "$CONSOLE/tunnels")" 401 "a made-up session cookie"
log "ok: nothing without a session"

# ---- headers on every answer ---------------------------------------------
h=$(ccurl -D - -o /dev/null "$CONSOLE/login" | tr -d '\r')
expect_match "$h" "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" "CSP"
expect_match "$h" 'Cache-Control: no-store' "no caching"
expect_match "$h" 'X-Content-Type-Options: nosniff' "nosniff"
if ccurl "$CONSOLE/login" | grep -qi '<script'; then fail "the login page has a script"; fi
log "ok: strict CSP, no script"

# ---- login ---------------------------------------------------------------
totp_settle
expect_eq "$(console_login carol wrong-password 000000)" 401 "carol: wrong password"
expect_match "$(cat "$T/login-carol.html")" 'the user name, password or code is not right' "the generic answer"
code=$(console_code carol)
expect_eq "$(console_login carol "$CAROL_PW" "$code")" 303 "carol: password and code"
tr -d '\r' <"$T/login-carol.h" | grep -Eq '^Set-Cookie: mwgc=[0-9a-f]{64}; Path=/; Secure; HttpOnly; SameSite=Strict$' ||
	fail "the session cookie lacks its attributes: $(grep -i set-cookie "$T/login-carol.h")"
tr -d '\r' <"$T/login-carol.h" | grep -q '^Location: /tunnels$' || fail "login does not lead to /tunnels"
expect_eq "$(console_login carol "$CAROL_PW" "$code")" 401 "the same code again is refused"
audit_wait '.["event.action"]=="console.login" and .["user.name"]=="carol" and .["event.outcome"]=="success"' 1
expect_eq "$(audit_count '.["event.action"]=="console.login" and .["user.name"]=="carol" and .["event.outcome"]=="failure"')" 2 "two failed console logins of carol recorded"
expect_eq "$(audit_count '.["event.action"]=="console.login" and .["event.reason"]=="code already used"')" 1 "the replay is named in the record"
expect_eq "$(console_login gina "$GINA_PW" "$(console_code gina)")" 403 "gina is in neither group"
expect_eq "$(console_login dave "$DAVE_PW" "$(console_code dave)")" 303 "dave (it) logs in"
log "ok: login with password and code, once-only, groups decide"

# ---- roles and CSRF ------------------------------------------------------
C_CSRF=$(console_csrf carol)
D_CSRF=$(console_csrf dave)
[ ${#C_CSRF} -eq 64 ] && [ ${#D_CSRF} -eq 64 ] || fail "no CSRF token on the page"
expect_eq "$(ccurl -b "$T/jar-carol" -o "$T/r.html" -w '%{http_code}' --data "csrf=$C_CSRF&id=1&reason=test" "$CONSOLE/tunnels/kill")" 403 "cyber may not kill"
expect_match "$(cat "$T/r.html")" 'this needs the IT role' "the refusal says why"
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' --data "csrf=$C_CSRF&kind=user&name=alice&reason=test" "$CONSOLE/locks/add")" 403 "cyber may not lock"
if ccurl -b "$T/jar-carol" "$CONSOLE/tunnels" | grep -q 'action="/tunnels/kill"'; then fail "cyber is offered a kill"; fi
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' --data "kind=user&name=alice&reason=test" "$CONSOLE/locks/add")" 403 "IT without a CSRF token"
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' --data "csrf=$C_CSRF&kind=user&name=alice&reason=test" "$CONSOLE/locks/add")" 403 "IT with another session's CSRF token"
last=${D_CSRF: -1}; [ "$last" = 0 ] && flip=1 || flip=0	# one hex digit changed
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' --data "csrf=${D_CSRF%?}$flip&kind=user&name=alice&reason=test" "$CONSOLE/locks/add")" 403 "IT with a wrong CSRF token"
expect_eq "$(audit_count '.["event.action"]=="lock.add"')" 0 "nothing was locked"
log "ok: cyber is refused changes; changes need the session's CSRF token"

# ---- a change by IT, with an HTML reason, rendered inert -----------------
XSS='<script>alert(1)</script><img src=x onerror=alert(2)>'
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' --data-urlencode "csrf=$D_CSRF" --data "kind=device&name=laptop-9" --data-urlencode "reason=$XSS" "$CONSOLE/locks/add")" 303 "IT locks a device"
audit_wait '.["event.action"]=="console.lock" and .["user.name"]=="dave" and .["console.name"]=="laptop-9" and .["event.outcome"]=="success"' 1
expect_eq "$(audit_count '.["event.action"]=="lock.add" and .["device.id"]=="laptop-9"')" 1 "mwgd's own lock.add record"
page=$(ccurl -b "$T/jar-carol" "$CONSOLE/locks")
expect_match "$page" '&lt;script&gt;alert\(1\)&lt;/script&gt;&lt;img src=x onerror=alert\(2\)&gt;' "the reason is escaped on the locks page"
if grep -q '<script\|<img' <<<"$page"; then fail "markup from a reason reached the page"; fi
log "ok: IT's lock is recorded naming dave; its reason is inert"

# ---- search: injection in the fields is inert and matches nothing -------
INJ="alice' OR '1'='1\"><script>alert(3)</script>"
page=$(ccurl -b "$T/jar-carol" -G --data-urlencode "user=$INJ" "$CONSOLE/audit")
expect_match "$page" '<p id="count">0 matching records' "an injection matches nothing"
expect_match "$page" 'value="alice&#39; OR &#39;1&#39;=&#39;1&quot;&gt;&lt;script&gt;alert\(3\)&lt;/script&gt;"' "the field is echoed escaped"
if grep -q '<script' <<<"$page"; then fail "the search field reached the page as markup"; fi
page=$(ccurl -b "$T/jar-carol" -G --data-urlencode "event=console.lock" "$CONSOLE/audit")
expect_match "$page" '<p id="count">1 matching records' "the lock is found"
if grep -q '<script\|<img' <<<"$page"; then fail "a record's text reached the search page as markup"; fi
expect_match "$page" '<p id="verify" class="ok">Chain: OK: ' "the chain verifies"
audit_wait '.["event.action"]=="console.view" and .["user.name"]=="carol" and .["audit.filter"].user=="'"alice' OR '1'='1\\\"><script>alert(3)</script>"'"' 1
audit_wait '.["event.action"]=="console.search" and .["user.name"]=="carol" and .["audit.filter"].event=="console.lock" and .["audit.records"]==1' 1
log "ok: searches recorded naming carol (a person's: console.view)"

# ---- export: the same bytes as mwgctl -----------------------------------
console_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
printf 'hello\n' >&"$tin"; read -r -t 5 _ <&"$tout"
page=$(ccurl -b "$T/jar-dave" "$CONSOLE/tunnels")
expect_match "$page" '<td>alice</td><td>laptop-1</td><td>K84001</td><td>echo.K84001</td>' "IT sees the live tunnel"
tid=$(grep -o 'name="id" value="[0-9]*"' <<<"$page" | head -1 | grep -o '[0-9]*')
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' --data "csrf=$D_CSRF&id=$tid" --data-urlencode 'reason=incident 42' "$CONSOLE/tunnels/kill")" 303 "IT kills it"
audit_wait '.["event.action"]=="tunnel.close" and .["organization.id"]=="K84001" and .["event.reason"]=="killed-by-admin"' 1
audit_wait '.["event.action"]=="console.kill" and .["user.name"]=="dave" and .["tunnel.id"]=='"$tid"' and .["event.reason"]=="incident 42" and .["event.outcome"]=="success"' 1
if ccurl -b "$T/jar-dave" "$CONSOLE/tunnels" | grep -q '<td>alice</td>'; then fail "the tunnel is still listed"; fi
log "ok: IT killed a live tunnel, recorded naming dave"
ccurl -b "$T/jar-carol" -o "$T/console.csv" -D "$T/export.h" "$CONSOLE/export?practice=k84001&format=csv"
expect_match "$(tr -d '\r' <"$T/export.h")" 'Content-Disposition: attachment; filename="mwg-audit-k84001.csv"' "an attachment"
"$BIN/mwgctl" audit export -s "$CTL" --practice K84001 --format csv "$AUDIT" >"$T/mwgctl.csv"
cmp "$T/console.csv" "$T/mwgctl.csv" || fail "the console's CSV differs from mwgctl's"
[ "$(wc -l <"$T/console.csv")" -ge 3 ] || fail "the CSV has too few rows: $(wc -l <"$T/console.csv")"
ccurl -b "$T/jar-carol" -o "$T/console.jsonl" "$CONSOLE/export?user=alice&format=jsonl"
"$BIN/mwgctl" audit export -s "$CTL" --user alice "$AUDIT" >"$T/mwgctl.jsonl"
cmp "$T/console.jsonl" "$T/mwgctl.jsonl" || fail "the console's JSONL differs from mwgctl's"
audit_wait '.["event.action"]=="console.export" and .["user.name"]=="carol" and .["audit.filter"].practice=="k84001" and .["console.format"]=="csv"' 1
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' "$CONSOLE/export?practice=K84001&user=alice")" 400 "both a practice and a person"
log "ok: exports are mwgctl's bytes, recorded naming carol"

# ---- search: a field's text inside another field is not that field -----
expect_eq "$(ccurl -b "$T/jar-dave" -o /dev/null -w '%{http_code}' --data-urlencode "csrf=$D_CSRF" --data "kind=device&name=laptop-8" --data-urlencode 'reason="user.name":"alice","organization.id":"K84001"' "$CONSOLE/locks/add")" 303 "a lock whose reason looks like fields"
want=$(audit_count '.["user.name"]=="alice"')
page=$(ccurl -b "$T/jar-carol" -G --data-urlencode "user=alice" "$CONSOLE/audit")
[ "$want" -ge 2 ] || fail "alice has too few records to count: $want"
expect_match "$page" "<p id=\"count\">$want matching records" "alice's records, as jq counts them ($want)"
want=$(audit_count '(.["organization.id"] // "" | ascii_downcase)=="k84001"')
page=$(ccurl -b "$T/jar-carol" -G --data-urlencode "practice=k84001" "$CONSOLE/audit")
expect_match "$page" "<p id=\"count\">$want matching records" "K84001's records, as jq counts them ($want)"

# ---- logout ends the session ---------------------------------------------
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' --data "csrf=$C_CSRF" "$CONSOLE/logout")" 303 "logout"
expect_eq "$(ccurl -b "$T/jar-carol" -o /dev/null -w '%{http_code}' "$CONSOLE/tunnels")" 401 "the old cookie is dead"
audit_wait '.["event.action"]=="console.logout" and .["user.name"]=="carol"' 1
log "ok: logout"

stop_console
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null || fail "the chain does not verify"
log "PASS"
