# Shared by the console scenarios (80-84, 90-91): people in the cyber
# team's and IT's directory groups with TOTP, mwgd, and mwg-console on its
# own management listener with the CA's server certificate. Sourced after
# common.sh.
CONSOLE_PORT=$((BASE + 10))
CONSOLE=https://127.0.0.1:$CONSOLE_PORT
CONSOLE_PID=
ALICE_PW=alice-Pw-80c0a1
CAROL_PW=carol-Pw-80c0c3	# cyber
DAVE_PW=dave-Pw-80c0d4		# it
ERIN_PW=erin-Pw-80c0e5		# cyber (the browser)
FRANK_PW=frank-Pw-80c0f6	# it (the browser)
GINA_PW=gina-Pw-80c0a7		# in neither group
declare -A TOTP=()

console_setup() {	# extra mwgd.conf lines
	make_ca
	make_device laptop-1
	enrol_device surgery-pc-3 alice --managed --practice K84001	# for the devices page
	enrol_device carol-laptop carol		# a staff login shares the throttle
	setup_identity "alice:$ALICE_PW:gp-clinicians" \
		"carol:$CAROL_PW:mwg-cyber" "dave:$DAVE_PW:mwg-it" \
		"erin:$ERIN_PW:mwg-cyber" "frank:$FRANK_PW:mwg-it,mwg-cyber" \
		"gina:$GINA_PW:gp-clinicians"
	write_policy
	write_conf "${1:-}"
	start_backend echo "$ECHO_PORT"
	start_mwgd
	for u in carol dave erin frank gina; do
		enrol_totp "$u"
		TOTP[$u]=$TOTP_B32
	done
}

start_console() {	# extra mwg-console options
	"$BIN/mwg-console" -d --listen "127.0.0.1:$CONSOLE_PORT" \
		--cert "$T/ca/server.pem" --key "$T/ca/server.key" \
		--control "$CTL" --audit "$AUDIT" --audit-key "$AUDIT_PUB" "$@" \
		>"$T/console.log" 2>&1 &
	CONSOLE_PID=$!
	PIDS+=("$CONSOLE_PID")
	wait_port "$CONSOLE_PORT"
}

# Stops the console; it must exit 0 with no sanitizer report.
stop_console() {
	local rc=0
	kill -TERM "$CONSOLE_PID"
	wait "$CONSOLE_PID" || rc=$?
	expect_eq "$rc" 0 "mwg-console exit status after SIGTERM"
	if grep -Eq 'Sanitizer|runtime error' "$T/console.log"; then
		fail "sanitizer report in console.log: $(grep -Em3 'Sanitizer|runtime error' "$T/console.log")"
	fi
	CONSOLE_PID=
}

# The code for user now, or steps away.
console_code() {	# user [steps]
	oathtool --totp -b "${TOTP[$1]}" -N "@$(( $(date +%s) + ${2:-0} * 30 ))"
}

# curl to the console trusting the test CA; extra args follow.
ccurl() { curl -sS --max-time 15 --cacert "$T/ca/root.pem" "$@"; }

# Logs user in with curl into the cookie jar $T/jar-user; prints the status.
# A refused attempt leaves an earlier session's jar alone. CONSOLE_SRC:
# the browser's address (the throttle counts failures per address too).
console_login() {	# user password code
	local st
	st=$(ccurl --interface "${CONSOLE_SRC:-127.0.0.1}" -c "$T/jar-$1.new" -o "$T/login-$1.html" -D "$T/login-$1.h" -w '%{http_code}' \
		--data-urlencode "user=$1" --data-urlencode "password=$2" \
		--data-urlencode "otp=$3" "$CONSOLE/login")
	[ "$st" = 303 ] && mv "$T/jar-$1.new" "$T/jar-$1"
	printf '%s' "$st"
}

# The CSRF token on a page the user sees.
console_csrf() {	# user
	ccurl -b "$T/jar-$1" "$CONSOLE/tunnels" | grep -o 'name="csrf" value="[0-9a-f]*"' |
		head -1 | sed 's/.*value="\(.*\)"/\1/'
}

# open_tunnel (common.sh) for tunnels that the test then kills: the
# client's exit after the kill is expected, not a failure; fifos instead
# of a coproc, so that several can be open at once. $tin/$tout: the last.
CTUN_N=0
console_tunnel() {	# device target
	local line n=$((++CTUN_N))
	mkfifo "$T/ctun$n.in" "$T/ctun$n.out"
	openssl s_client -quiet -connect "$GW" -CAfile "$T/ca/root.pem" \
		-cert "$T/$1.pem" -key "$T/$1.key" <"$T/ctun$n.in" >"$T/ctun$n.out" 2>/dev/null &
	PIDS+=($!)
	exec {tin}>"$T/ctun$n.in" {tout}<"$T/ctun$n.out"
	printf 'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' "$2" "$2" >&"$tin"
	read -r -t 5 line <&"$tout" || fail "no answer to CONNECT $2"
	[ "$(tr -d '\r' <<<"$line")" = "HTTP/1.1 200 Connection established" ] ||
		fail "CONNECT $2 answered '$line'"
	read -r -t 5 _ <&"$tout"
}
