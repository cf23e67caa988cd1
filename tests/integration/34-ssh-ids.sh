#!/usr/bin/env bash
# One id sequence for TLS and SSH: TLS tunnels and SSH tunnels opened
# interleaved get distinct ids (TLS connection ids, SSH session ids and SSH
# tunnel ids never collide), every tunnel.open has exactly one tunnel.close,
# and `mwgctl sessions` lists an SSH tunnel that `mwgctl kill ID` ends:
# ssh exits 255 and says why.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ssh-common.sh"
ALICE_PW=alice-Pw-34e1a7
N=8
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
make_device tls-1
write_policy
write_conf "listen ssh 127.0.0.1:$SSH_PORT"
start_backend http "$HTTP_PORT"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
ssh_alice_session

# Strictly alternating: each SSH session starts right after a TLS
# connection took its id (where a second counter would repeat it).
for i in $(seq "$N"); do
	gw_curl tls-1 -o /dev/null "http://emis.K84001:$HTTP_PORT/" || fail "TLS tunnel $i"
	r=$(printf 'ssh-%d\n' "$i" | timeout 20 ssh -F "$T/ssh-alice" -W "echo.K84001:$ECHO_PORT" gw) || fail "SSH tunnel $i"
	expect_eq "$r" "ssh-$i" "SSH tunnel $i echoes"
done
audit_wait '.["event.action"]=="tunnel.close"' $((2 * N))
ids() { audit_select "$1" | jq -r "$2" | sort -n; }
tls=$(ids '.["event.action"]=="tunnel.open" and .["network.protocol"]!="ssh"' '.["tunnel.id"]')
sess=$(ids '.["network.protocol"]=="ssh" and .["event.action"]=="ssh.auth"' '.["ssh.session.id"]')
tun=$(ids '.["event.action"]=="tunnel.open" and .["network.protocol"]=="ssh"' '.["tunnel.id"]')
expect_eq "$(wc -l <<<"$tls") $(wc -l <<<"$sess") $(wc -l <<<"$tun")" "$N $N $N" "$N TLS tunnels, SSH sessions and SSH tunnels"
expect_eq "$(printf '%s\n' $tls $sess $tun | sort -n | uniq -d | wc -l)" 0 "no id is used twice across TLS connections, SSH sessions and SSH tunnels"
pairs=$(jq -s '[.[]|select(.["event.action"]=="tunnel.open" and .["event.outcome"]=="success")|.["tunnel.id"]] as $o
	| [.[]|select(.["event.action"]=="tunnel.close")|.["tunnel.id"]] as $c
	| [$o[] | . as $i | [$c[]|select(.==$i)]|length] | unique' "$AUDIT")
expect_eq "$(jq -c . <<<"$pairs")" "[1]" "every tunnel.open has exactly one tunnel.close"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close"')" $((2 * N)) "no other tunnel.close"

# ---- mwgctl kill on an SSH tunnel ----------------------------------------
coproc LIVE { rc=0; timeout 30 ssh -F "$T/ssh-alice" -W "echo.K84001:$ECHO_PORT" gw 2>"$T/live.err" || rc=$?; echo "rc=$rc"; }
PIDS+=("$LIVE_PID")
exec {lin}<&"${LIVE[0]}" {lout}>&"${LIVE[1]}"	# outlive the coprocess
printf 'ping\n' >&"$lout"
read -r -t 10 line <&"$lin" || fail "no echo through the live SSH tunnel"
expect_eq "$line" ping "a live SSH tunnel echoes"
id=$(ssh_last_tunnel_id)
sid=$(audit_select '.["event.action"]=="tunnel.open" and .["tunnel.id"]=='"$id" | jq -r '.["ssh.session.id"]')
rc=0; out=$("$BIN/mwgctl" -s "$CTL" kill "$sid" 2>&1) || rc=$?
expect_eq "$rc" 1 "kill of an SSH session id (not a tunnel) is refused"
expect_match "$out" "no open tunnel with id $sid" "kill names the id it did not find"
sessions() { "$BIN/mwgctl" -s "$CTL" sessions --json | jq -c '[.sessions[] | [.id, .protocol, .user, .device, .source, .target, .bytes_up, .bytes_down]]'; }
expect_eq "$(sessions)" "[[$id,\"ssh\",\"alice\",\"laptop-1\",\"127.0.0.1\",\"echo.K84001\",5,5]]" "mwgctl sessions lists the SSH tunnel"
"$BIN/mwgctl" -s "$CTL" kill "$id" >/dev/null
read -r -t 10 line <&"$lin" || fail "ssh -W did not end after kill"
expect_eq "$line" "rc=255" "ssh -W exits 255 after kill"
expect_match "$(cat "$T/live.err")" "Received disconnect from 127.0.0.1 port $SSH_PORT:11: mwg: tunnel to echo.K84001 closed: an administrator closed it" "ssh prints why"
audit_wait '.["event.action"]=="tunnel.close" and .["tunnel.id"]=='"$id" 1
expect_eq "$(audit_select '.["event.action"]=="tunnel.close" and .["tunnel.id"]=='"$id" | jq -r '[.["network.protocol"], .["event.reason"], .["network.bytes_up"], .["network.bytes_down"], (.["mwg.close_detail"] // "-")]|join(" ")')" \
	"ssh killed-by-admin 5 5 -" "tunnel.close: killed-by-admin, bytes"
expect_eq "$(audit_count '.["event.action"]=="admin.kill" and .["tunnel.id"]=='"$id")" 1 "admin.kill names the SSH tunnel"
rc=0; "$BIN/mwgctl" -s "$CTL" kill "$id" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "a killed tunnel cannot be killed again"
expect_eq "$(sessions)" "[]" "mwgctl sessions no longer lists it"
stop_mwgd
"$BIN/mwgctl" audit verify --key "$AUDIT_PUB" "$AUDIT" >/dev/null
log "ok: audit chain verifies"
