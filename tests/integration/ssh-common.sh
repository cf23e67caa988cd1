# Helpers for the SSH jump-listener scenarios (34-39), sourced after
# common.sh: the listener's port, known_hosts, one ssh config per device,
# and keyboard-interactive answers through SSH_ASKPASS.
SSH_PORT=$((BASE + 9))

# The gateway's host keys as OpenSSH known_hosts, in $T/known_hosts.
ssh_known_hosts() {
	for k in ed25519 ecdsa; do
		printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")"
	done >"$T/known_hosts"
}

# alice (password $ALICE_PW) logs in over HTTPS on laptop-1, so SSH with
# that device's key needs no second factor: known_hosts, and her ssh
# config in $T/ssh-alice (BatchMode: nothing asks).
ssh_alice_session() {
	enrol_totp alice
	totp_settle
	r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
	expect_eq "$(tail -1 <<<"$r")" 200 "alice logs in over HTTPS"
	ssh_known_hosts
	ssh_conf laptop-1 alice "$T/ssh-alice" "    BatchMode yes"
}

# An ssh config for device and user as host "gw" in file (extra lines last).
ssh_conf() {	# device user file [extra lines]
	cat >"$3" <<CONF
Host gw
    HostName 127.0.0.1
    Port $SSH_PORT
    User $2
    IdentityFile $T/$1.key
    IdentitiesOnly yes
    UserKnownHostsFile $T/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    PreferredAuthentications publickey,keyboard-interactive
    ConnectTimeout 10
${4:-}
CONF
}

# ssh with keyboard-interactive answers (password, code) from SSH_ASKPASS.
kbd_ssh() {	# password code ssh-args...
	[ -x "$T/askpass" ] || {
		printf '#!/bin/sh\ncase "$1" in\n*assword*) cat "%s" ;;\n*code*) cat "%s" ;;\n*) exit 1 ;;\nesac\n' \
			"$T/ask-pw" "$T/ask-code" >"$T/askpass"
		chmod 755 "$T/askpass"
	}
	printf '%s\n' "$1" >"$T/ask-pw"; printf '%s\n' "$2" >"$T/ask-code"; shift 2
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		timeout 30 setsid ssh "$@"
}

# The tunnel.id of the latest SSH tunnel.open (success) in the audit trail.
ssh_last_tunnel_id() {
	audit_select '.["event.action"]=="tunnel.open" and .["event.outcome"]=="success" and .["network.protocol"]=="ssh"' |
		tail -1 | jq -r '.["tunnel.id"]'
}

# Opens n TCP connections from address src to the SSH port and sends
# nothing. In the background ($SILENT_PID): file.ready once all are open;
# after hold seconds, file gets one line per connection: the seconds from
# the start until the gateway closed it, or "open".
silent_conns() {	# n src file hold
	python3 - "$@" "$SSH_PORT" <<'PY' &
import select, socket, sys, time
n, src, out, hold, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
t0 = time.monotonic()
socks = []
for _ in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    socks.append(s)
open(out + ".ready", "w").close()
closed, live = {}, set(socks)
while live and time.monotonic() - t0 < hold:
    for s in select.select(list(live), [], [], 0.1)[0]:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            closed[s] = time.monotonic() - t0
            live.discard(s)
with open(out, "w") as f:
    for s in socks:
        f.write("%.2f\n" % closed[s] if s in closed else "open\n")
PY
	SILENT_PID=$!
	PIDS+=("$SILENT_PID")
	for _ in $(seq 100); do [ -e "$3.ready" ] && return 0; sleep 0.05; done
	fail "silent connections from $2 not open after 5 s"
}
# How many lines of a silent_conns file lie in [lo, hi) seconds ("open": -1).
silent_count() {	# file lo hi
	awk -v lo="$2" -v hi="$3" '{ t = ($1 == "open") ? -1 : $1 } t >= lo && t < hi { n++ } END { print n + 0 }' "$1"
}

# A live `ssh -W echo.K84001` as config file, one line echoed through it.
# Read its end with ssh_live_end; its stderr is in $T/live.err.
ssh_live() {	# config
	coproc LIVE { rc=0; timeout 60 ssh -F "$1" -W "echo.K84001:$ECHO_PORT" gw 2>"$T/live.err" || rc=$?; echo "rc=$rc"; }
	PIDS+=("$LIVE_PID")
	exec {live_in}<&"${LIVE[0]}" {live_out}>&"${LIVE[1]}"	# outlive the coprocess
	printf 'ping\n' >&"$live_out"
	read -r -t 10 line <&"$live_in" || fail "no echo through a live SSH tunnel"
	[ "$line" = ping ] || fail "a live SSH tunnel echoed '$line'"
	LIVE_ID=$(ssh_last_tunnel_id)
}
# Waits (up to t seconds) for the live ssh to end; prints "rc=N".
ssh_live_end() {	# [t]
	local line
	read -r -t "${1:-10}" line <&"$live_in" || fail "ssh -W did not end"
	exec {live_in}<&- {live_out}>&-
	printf '%s\n' "$line"
}
# The live tunnel's tunnel.close: reason | detail | rule.id.
ssh_live_close() {
	audit_wait '.["event.action"]=="tunnel.close" and .["tunnel.id"]=='"$LIVE_ID" 1
	audit_select '.["event.action"]=="tunnel.close" and .["tunnel.id"]=='"$LIVE_ID" |
		jq -r '[.["event.reason"], (.["mwg.close_detail"] // "-"), .["rule.id"]]|join(" | ")'
}

# Waits (5 s) until mwgd's debug log says no connection is left
# unauthenticated for the n-th time: the slots a test filled are free.
ssh_wait_slots_free() {	# n
	for _ in $(seq 100); do
		[ "$(grep -c 'unauthenticated connections now 0$' "$T/mwgd.log")" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "unauthenticated SSH connections still held"
}
