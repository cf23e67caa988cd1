#!/usr/bin/env bash
# mwg-gui (GTK 4) under Xvfb, driven with xdotool as a person would: type
# the user name, password and code, press Enter (mwg login runs with both
# secrets on its standard input), see the systems from mwg list, press
# Enter on the first Open: mwg open starts the real xfreerdp, which makes
# an RDP connection through the gateway to a real xrdp on loopback, its
# TLS certificate (for the system's real name, from a throwaway practice
# CA) checked by xfreerdp under that name (/cert-name); see it under "Open
# now", and see the gateway's reason when IT locks the account. Screenshots
# are kept in MWG_BUILD/test-logs/collected/screenshots-89/ (and looked at
# by hand). The window's output never holds a secret.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ALICE_PW=alice-Pw-89d4a2
[ -x "$BIN/mwg-gui" ] || fail "no mwg-gui: install libgtk-4-dev (deploy/deps.sh test), then make"
for p in Xvfb xdotool import xrdp xfreerdp; do command -v "$p" >/dev/null || fail "$p is not installed"; done
XRDP_PORT=$((BASE + 6))
RDP_NAME=reception.k84001.example.nhs.uk
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
cat >"$T/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target reception 127.0.0.1:$XRDP_PORT { kind rdp; host $RDP_NAME }
}
practice K84002 "Horsefair Surgery" { target emis 127.0.0.1:$HTTP_PORT { kind web; host emis.k84002.example.nhs.uk } }
role clinician { groups gp-clinicians; targets reception }
role glass { groups gp-clinicians; practices *; targets emis; break-glass 1h }
member group gp-clinicians { practices K84001 }
POLICY
write_conf
start_mwgd
enrol_totp alice
D=$T/laptop
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null

# The remote desktop: xrdp on loopback with a certificate for the real
# name from the practice's own (throwaway) CA; its log in the test dir.
P=$T/practice-ca
mkdir -p "$P" "$T/home"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=K84001 practice test CA" \
    -keyout "$P/ca.key" -out "$P/ca.pem" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$RDP_NAME" -keyout "$P/rdp.key" -out "$P/rdp.csr" 2>/dev/null
openssl x509 -req -in "$P/rdp.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$RDP_NAME") -out "$P/rdp.pem" 2>/dev/null
sed -e "s|^port=3389$|port=tcp://127.0.0.1:$XRDP_PORT|" -e "s|^LogFile=.*|LogFile=$T/xrdp.log|" \
    -e "s|^EnableSyslog=.*|EnableSyslog=false|" -e "s|^certificate=$|certificate=$P/rdp.pem|" \
    -e "s|^key_file=$|key_file=$P/rdp.key|" /etc/xrdp/xrdp.ini >"$T/xrdp.ini"
xrdp --nodaemon --config "$T/xrdp.ini" >"$T/xrdp.out" 2>&1 &
PIDS+=($!)
wait_port "$XRDP_PORT"

# xfreerdp as mwg open starts it, trusting the practice CA only (OpenSSL's
# SSL_CERT_FILE), in a HOME of the test's, never asking on a terminal.
mkdir -p "$T/bin"
cat >"$T/bin/xfreerdp-test" <<SH
#!/usr/bin/env bash
printf '%s\n' "\$*" >"$T/rdp.args"
exec env HOME="$T/home" SSL_CERT_FILE="$P/ca.pem" xfreerdp "\$@" /size:560x360 /log-level:WARN </dev/null
SH
chmod +x "$T/bin/xfreerdp-test"

DNUM=$((BASE % 10000))
Xvfb ":$DNUM" -screen 0 760x520x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -S "/tmp/.X11-unix/X$DNUM" ] && break; sleep 0.05; done
export DISPLAY=:$DNUM
shot() { import -window root "$T/gui-$1.png"; log "screenshot: $T/gui-$1.png"; }
wait_out() {	# regex: until the window's output has it (10 s)
	for _ in $(seq 200); do grep -Eq "$1" "$T/gui.out" && return 0; sleep 0.05; done
	fail "the window never said /$1/: $(tail -5 "$T/gui.out")"
}

env GDK_BACKEND=x11 GTK_A11Y=none NO_AT_BRIDGE=1 MWG_DIR="$D" MWG_BIN="$MWG" \
    MWG_OPEN_RDP="$T/bin/xfreerdp-test" MWG_NOTIFY= \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$BIN/mwg-gui" >"$T/gui.out" 2>"$T/gui.err" &
GUI_PID=$!
PIDS+=($GUI_PID)
wait_out "^mwg-gui: ready$"
wait_out "^mwg-gui: status: not logged in: session none \(run mwg login\)$"
log "ok: before login: no session shown"
wid=$(xdotool search --sync --name '^mwg$' | head -1)
xdotool windowfocus --sync "$wid"

totp_settle
otp=$(totp_code)
xdotool type --delay 20 alice
shot 1-start
xdotool key Tab
xdotool type --delay 20 "$ALICE_PW"
xdotool key Tab
xdotool type --delay 20 "$otp"
xdotool key Return
wait_out "^mwg-gui: listed: 2 systems$"
expect_match "$(cat "$T/gui.out")" "mwg-gui: message: logged in" "login through the window"
wait_out "^mwg-gui: status: alice - session valid until .* left\)$"
log "ok: the session's time left shown"
shot 2-logged-in

xdotool key Return		# the first Open: reception.K84001
wait_out "^mwg-gui: opening: reception.K84001$"
# Past TLS to the capability exchange: xfreerdp accepted the certificate
# (a refused one ends the connection right after the handshake).
for _ in $(seq 300); do grep -q "xrdp_caps_process_pointer" "$T/xrdp.log" 2>/dev/null && break; sleep 0.05; done
expect_match "$(cat "$T/xrdp.log")" "TLS connection established from 127.0.0.1" "Open: xfreerdp's RDP connection reached xrdp through the gateway"
expect_match "$(cat "$T/xrdp.log")" "xrdp_caps_process_pointer" "Open: ...and went on past TLS: xfreerdp accepted the certificate for $RDP_NAME"
expect_match "$(cat "$T/rdp.args")" "^/v:127\.0\.0\.1:[0-9]+ /cert-name:$RDP_NAME$" "Open: xfreerdp on the local port, the certificate checked under the real name"
audit_wait '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success" and .["destination.address"]=="reception.K84001"' 1
# xrdp's login screen drawn in xfreerdp's window: wait for the window.
for _ in $(seq 200); do xdotool search --name 'FreeRDP' >/dev/null 2>&1 && break; sleep 0.05; done
sleep 1	# screenshot only: let xfreerdp draw the first frame
shot 3-open

"$BIN/mwgctl" -s "$CTL" lock user alice --reason "test 89" >/dev/null
wait_out "closed by the gateway: your access is locked by IT; contact the service desk \(user-locked\)$"
shot 4-cut
wait_out "^mwg-gui: closed: reception.K84001$"
expect_match "$(grep 'message: .*closed by the gateway' "$T/gui.out")" \
    "^mwg-gui: message: reception.K84001:$XRDP_PORT: tunnel for 127.0.0.1:[0-9]+ closed by the gateway: your access is locked by IT; contact the service desk \(user-locked\)$" \
    "the cut's reason in the window"
shot 5-closed
if grep -qF -- "$ALICE_PW" "$T/gui.out" "$T/gui.err" || grep -qF -- "$otp" "$T/gui.out" "$T/gui.err"; then
	fail "a secret reached the window's output"
fi
mkdir -p "$COLLECT/screenshots-89"
cp "$T"/gui-*.png "$COLLECT/screenshots-89/"
kill "$GUI_PID"; wait "$GUI_PID" 2>/dev/null || true
stop_mwgd
