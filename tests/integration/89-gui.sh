#!/usr/bin/env bash
# mwg-gui (GTK 4) under Xvfb, driven with xdotool as a person would: type
# the user name, password and code, press Enter (mwg login runs with both
# secrets on its standard input), see the systems from mwg list, press
# Enter on the first Open (mwg open with a stand-in desktop client named
# by MWG_OPEN_RDP), see it under "Open now", and see the gateway's reason
# when IT locks the account. Screenshots go to the test's directory (and
# are looked at by hand). The window's output never holds a secret.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ALICE_PW=alice-Pw-89d4a2
[ -x "$BIN/mwg-gui" ] || fail "no mwg-gui: install libgtk-4-dev (deploy/deps.sh test), then make"
for p in Xvfb xdotool import; do command -v "$p" >/dev/null || fail "$p is not installed"; done
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
cat >"$T/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target reception 127.0.0.1:$ECHO_PORT { kind rdp; host reception.k84001.example.nhs.uk }
}
practice K84002 "Horsefair Surgery" { target emis 127.0.0.1:$HTTP_PORT { kind web; host emis.k84002.example.nhs.uk } }
role clinician { groups gp-clinicians; targets reception }
role glass { groups gp-clinicians; practices *; targets emis; break-glass 1h }
member group gp-clinicians { practices K84001 }
POLICY
write_conf
start_backend echo "$ECHO_PORT"
start_mwgd
enrol_totp alice
D=$T/laptop
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null

mkdir -p "$T/bin"
cat >"$T/bin/fake-xfreerdp" <<'SH'
#!/usr/bin/env bash
exec 3<>"/dev/tcp/127.0.0.1/$MWG_OPEN_PORT" || exit 3
printf 'hello from the desktop client\n' >&3
IFS= read -r -t 5 line <&3 || exit 4
printf '%s\n' "$line" >"$STANDIN_OUT.echo"
IFS= read -r -t 20 line <&3 && exit 5		# until the cut
for _ in $(seq 200); do [ -e "$STANDIN_OUT.release" ] && break; sleep 0.05; done
SH
chmod +x "$T/bin/fake-xfreerdp"

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
    MWG_OPEN_RDP="$T/bin/fake-xfreerdp" MWG_NOTIFY= STANDIN_OUT="$T/rdp" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$BIN/mwg-gui" >"$T/gui.out" 2>"$T/gui.err" &
GUI_PID=$!
PIDS+=($GUI_PID)
wait_out "^mwg-gui: ready$"
expect_match "$(cat "$T/gui.out")" "mwg-gui: status: not logged in: session none \(run mwg login\)" "before login: no session shown"
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
expect_match "$(cat "$T/gui.out")" "mwg-gui: status: alice - session valid until .* left\)" "the session's time left shown"
shot 2-logged-in

xdotool key Return		# the first Open: reception.K84001
wait_out "^mwg-gui: opening: reception.K84001$"
for _ in $(seq 200); do [ -e "$T/rdp.echo" ] && break; sleep 0.05; done
expect_eq "$(cat "$T/rdp.echo" 2>/dev/null)" "hello from the desktop client" "Open: the desktop client's bytes went through the gateway"
shot 3-open

"$BIN/mwgctl" -s "$CTL" lock user alice --reason "test 89" >/dev/null
wait_out "closed by the gateway: your access is locked by IT; contact the service desk \(user-locked\)$"
shot 4-cut
touch "$T/rdp.release"
wait_out "^mwg-gui: closed: reception.K84001$"
expect_match "$(grep 'message: .*closed by the gateway' "$T/gui.out")" \
    "^mwg-gui: message: reception.K84001:$ECHO_PORT: tunnel for 127.0.0.1:[0-9]+ closed by the gateway: your access is locked by IT; contact the service desk \(user-locked\)$" \
    "the cut's reason in the window"
shot 5-closed
if grep -qF -- "$ALICE_PW" "$T/gui.out" "$T/gui.err" || grep -qF -- "$otp" "$T/gui.out" "$T/gui.err"; then
	fail "a secret reached the window's output"
fi
mkdir -p "$COLLECT/screenshots-89"
cp "$T"/gui-*.png "$COLLECT/screenshots-89/"
kill "$GUI_PID"; wait "$GUI_PID" 2>/dev/null || true
stop_mwgd
