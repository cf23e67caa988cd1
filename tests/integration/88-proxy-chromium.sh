#!/usr/bin/env bash
# mwg proxy: web systems keep their real names. A stand-in practice web
# system with its own certificate for emis.k84001.example.nhs.uk (from a
# practice CA, not the gateway's) sits at the policy's address for
# emis.K84001. Headless Chromium, trusting only the practice CA (an NSS db
# under the test's HOME), with the proxy's PAC URL and every name but
# direct.example.test unresolvable (--host-resolver-rules; /etc/hosts is
# never touched), opens https://emis.k84001.example.nhs.uk:PORT/: the page
# loads with the system's own certificate verified end to end, through
# the gateway (audited); direct.example.test goes DIRECT, not through mwg;
# a name not in the policy is refused by the proxy. The same with a
# certificate for another name must fail, which shows the check is real.
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MWG=$BIN/mwg
ALICE_PW=alice-Pw-88c3e7
WEB_PORT=$((BASE + 6))		# the practice web system, HTTPS
BAD_PORT=$((BASE + 7))		# the same with a certificate for another name
PROXY=127.0.0.1:$((BASE + 8))
NAME=emis.k84001.example.nhs.uk
command -v chromium >/dev/null || fail "chromium is not installed (deploy/deps.sh test)"
command -v certutil >/dev/null || fail "certutil is not installed (libnss3-tools)"
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
cat >"$T/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target emis 127.0.0.1:$WEB_PORT { kind web; host $NAME }
    target docs 127.0.0.1:$BAD_PORT { kind web; host docs.k84001.example.nhs.uk }
}
role clinician { groups gp-clinicians; targets * }
member group gp-clinicians { practices K84001 }
POLICY
write_conf

# The practice's own PKI: a CA and a server certificate for the real name.
P=$T/practice-ca
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=K84001 practice test CA" -keyout "$P/ca.key" -out "$P/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
server_cert() {	# prefix dns-name
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
	    -keyout "$1.key" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
	    -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$2") -out "$1.pem" 2>/dev/null
}
server_cert "$P/emis" "$NAME"
server_cert "$P/wrong" "other.k84001.example.nhs.uk"
python3 "$ROOT/tests/tools/https-standin.py" 127.0.0.1 "$WEB_PORT" "$P/emis.pem" "$P/emis.key" emis.K84001 \
    >"$T/standin.out" 2>"$T/standin.log" &
PIDS+=($!)
python3 "$ROOT/tests/tools/https-standin.py" 127.0.0.1 "$BAD_PORT" "$P/wrong.pem" "$P/wrong.key" docs.K84001 \
    >"$T/standin-bad.out" 2>"$T/standin-bad.log" &
PIDS+=($!)
wait_port "$WEB_PORT"
wait_port "$BAD_PORT"
start_backend http "$HTTP_PORT"		# direct.example.test, plain HTTP
start_mwgd

enrol_totp alice
D=$T/laptop
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null
totp_settle
printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code)" >/dev/null

(exec "$MWG" proxy --dir "$D" --listen "$PROXY" >"$T/proxy.out" 2>"$T/proxy.err") &
PROXY_PID=$!
PIDS+=($PROXY_PID)
for _ in $(seq 200); do [ -s "$T/proxy.out" ] && break; sleep 0.05; done
expect_match "$(cat "$T/proxy.out")" "^mwg: proxy: 2 web systems through $GW; browser proxy configuration URL http://$PROXY/proxy.pac; session until " \
    "mwg proxy says where its PAC file is"
expect_eq "$(cat "$D/proxy")" "$PROXY" "mwg proxy writes its address for mwg open"

# The PAC file: only the policy's web names go to the proxy.
pac=$(curl -sS --max-time 10 -w '\n%{http_code} %{content_type}' "http://$PROXY/proxy.pac")
expect_eq "$(tail -1 <<<"$pac")" "200 application/x-ns-proxy-autoconfig" "PAC: 200, its type"
expect_eq "$(sed '$d' <<<"$pac")" "// mwg proxy: these practice systems go through the gateway, all else direct.
function FindProxyForURL(url, host) {
	host = host.toLowerCase();
	if (host == \"docs.k84001.example.nhs.uk\")
		return \"PROXY $PROXY\";
	if (host == \"$NAME\")
		return \"PROXY $PROXY\";
	return \"DIRECT\";
}" "PAC: the two web hosts, all else DIRECT"

# curl through the proxy by the real name, the practice CA trusted: 200.
page=$(curl -sS --max-time 10 -p -x "http://$PROXY" --cacert "$P/ca.pem" "https://$NAME:$WEB_PORT/")
expect_match "$page" "Stand-in practice system emis.K84001" "curl: the page by its real name, certificate verified"
code=$(curl -sS --max-time 10 -p -x "http://$PROXY" -o /dev/null -w '%{http_connect}' "https://mail.example.com:443/" 2>/dev/null || true)
expect_eq "$code" 403 "curl: a name not in the policy: the proxy answers 403"
expect_match "$(cat "$T/proxy.err")" "refused CONNECT mail.example.com:443: mail.example.com is not a practice system you may reach through mwg" \
    "the refusal is said"
code=$(curl -sS --max-time 10 -p -x "http://$PROXY" -o /dev/null -w '%{http_connect}' "https://$NAME:443/" 2>/dev/null || true)
expect_eq "$code" 403 "curl: the right name on another port: 403"

# Headless Chromium with its own profile and NSS db: only the practice CA.
export HOME=$T/home
mkdir -p "$HOME/.pki/nssdb"
certutil -N -d "sql:$HOME/.pki/nssdb" --empty-password
certutil -A -d "sql:$HOME/.pki/nssdb" -n "K84001 practice test CA" -t "C,," -i "$P/ca.pem"
chrome() {	# url: the DOM after load, on stdout
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
	    --user-data-dir="$T/chrome-$1" --proxy-pac-url="http://$PROXY/proxy.pac" \
	    --host-resolver-rules="MAP direct.example.test 127.0.0.1:$HTTP_PORT, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
	    --virtual-time-budget=5000 --dump-dom "$2" 2>>"$T/chromium.log"
}
dom=$(chrome good "https://$NAME:$WEB_PORT/")
log "Chromium, $NAME: $dom"
expect_match "$dom" '<h1 id="who">Stand-in practice system emis.K84001</h1>' \
    "Chromium: the page loads by its real name with a valid certificate and no warning"
audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success" and .["destination.address"]=="emis.K84001"' 2
dom=$(chrome direct "http://direct.example.test/not-through-mwg")
expect_match "$dom" "/not-through-mwg" "Chromium: another name goes DIRECT"
expect_eq "$(audit_count '.["event.action"]=="tunnel.open" and (.["destination.address"] | test("direct"; "i"))')" 0 \
    "...and never reaches the gateway"
# A certificate for another name must not load: the check above is real.
dom=$(chrome bad "https://docs.k84001.example.nhs.uk:$BAD_PORT/")
log "Chromium, wrong certificate: $(head -c 300 <<<"$dom")"
if grep -q "Stand-in practice system docs.K84001" <<<"$dom"; then
	fail "Chromium loaded a page whose certificate names another host"
fi
audit_wait '.["event.action"]=="tunnel.open" and .["destination.address"]=="docs.K84001"' 1

# mwg open for a web system: the browser (here a wrapper running the same
# headless Chromium, named by MWG_OPEN_WEB) gets the real name's URL.
cat >"$T/browser" <<SH
#!/usr/bin/env bash
printf '%s\n' "\$*" >"$T/browser.args"
exec timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$T/chrome-open" --proxy-pac-url="http://$PROXY/proxy.pac" \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
    --virtual-time-budget=5000 --dump-dom "\$1" >"$T/browser.dom" 2>>"$T/chromium.log"
SH
chmod +x "$T/browser"
MWG_OPEN_WEB=$T/browser "$MWG" open --dir "$D" emis.K84001 2>"$T/open.err"
expect_eq "$(head -1 "$T/open.err")" "mwg: open: opening https://$NAME:$WEB_PORT/ (through mwg proxy at $PROXY)" \
    "mwg open: a web system opens by its real name through the proxy"
expect_eq "$(cat "$T/browser.args")" "https://$NAME:$WEB_PORT/" "mwg open: the browser's one argument, the URL"
expect_match "$(cat "$T/browser.dom")" '<h1 id="who">Stand-in practice system emis.K84001</h1>' \
    "mwg open: the page loads in Chromium, certificate verified"

# After mwg logout the proxy refuses tunnels ("not logged in"); a proxy
# started before the login serves the kept list (the browser's PAC file
# works at once) and tunnels once the person logs in.
"$MWG" logout --dir "$D" >/dev/null
code=$(curl -sS --max-time 10 -p -x "http://$PROXY" -o /dev/null -w '%{http_connect}' --cacert "$P/ca.pem" \
    "https://$NAME:$WEB_PORT/" 2>/dev/null || true)
expect_eq "$code" 502 "logged out: the proxy refuses the tunnel"
expect_eq "$(grep -c "^mwg: proxy: emis.K84001:$WEB_PORT: not logged in (run mwg login)$" "$T/proxy.err")" 1 "logged out: said why"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
PROXY2=127.0.0.1:$((BASE + 9))
(exec "$MWG" proxy --dir "$D" --listen "$PROXY2" >"$T/proxy2.out" 2>"$T/proxy2.err") &
PROXY_PID=$!
PIDS+=($PROXY_PID)
for _ in $(seq 200); do [ -s "$T/proxy2.out" ] && break; sleep 0.05; done
expect_match "$(cat "$T/proxy2.out")" "^mwg: proxy: 2 web systems through $GW; browser proxy configuration URL http://$PROXY2/proxy.pac; not logged in yet; stop with Ctrl-C$" \
    "a proxy started before the login: the kept list"
expect_eq "$(cat "$T/proxy2.err")" "mwg: proxy: warning: not logged in (run mwg login); until then the browser's connections to practice systems are refused" \
    "...and it says what that means"
expect_eq "$(curl -sS --max-time 10 "http://$PROXY2/proxy.pac" | grep -c "PROXY $PROXY2")" 2 "...its PAC file lists both"
# The next step's code (the ±1 window takes it): the first was used.
totp_settle
printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code 1)" >/dev/null
page=$(curl -sS --max-time 10 -p -x "http://$PROXY2" --cacert "$P/ca.pem" "https://$NAME:$WEB_PORT/")
expect_match "$page" "Stand-in practice system emis.K84001" "after mwg login the same proxy tunnels"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
stop_mwgd
