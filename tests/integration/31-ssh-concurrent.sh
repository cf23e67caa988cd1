#!/usr/bin/env bash
# 200 SSH tunnels open at once through the jump listener (stock OpenSSH,
# ssh -W, the live-session path): every one opened, echoed its own line
# and closed with its bytes recorded; all 200 were open together (every
# tunnel.open precedes the first tunnel.close). Bounded: 90 s at most.
. "$(dirname "$0")/common.sh"
N=${MWG_SSH_CONCURRENT:-200}
HOLD=10
ALICE_PW=alice-Pw-0d5e2a
SSH_PORT=$((BASE + 9))
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device laptop-1 alice
write_policy
# All N from one address at once: above the default pre-auth bounds
# (per-source-max-startups 10, max-startups 20:30:100; 35- tests those).
write_conf "listen ssh 127.0.0.1:$SSH_PORT { max-startups $N:30:$N; per-source-max-startups $N }"
start_backend echo "$ECHO_PORT"
start_mwgd
wait_port "$SSH_PORT"
enrol_totp alice
totp_settle
r=$(gw_login laptop-1 alice "$ALICE_PW" "$(totp_code)")
expect_eq "$(tail -1 <<<"$r")" 200 "alice logs in over HTTPS"
for k in ed25519 ecdsa; do
	printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(ssh-keygen -y -f "$T/state/ssh_host_${k}_key")"
done >"$T/known_hosts"
cat >"$T/ssh-config" <<CONF
Host gw
    HostName 127.0.0.1
    Port $SSH_PORT
    User alice
    IdentityFile $T/laptop-1.key
    IdentitiesOnly yes
    UserKnownHostsFile $T/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    LogLevel ERROR
CONF

start=$(date +%s)
pids=()
for i in $(seq "$N"); do
	( printf 'line-%d\n' "$i"; sleep "$HOLD" ) |
		timeout 90 ssh -F "$T/ssh-config" -W "echo.K84001:$ECHO_PORT" gw >"$T/out.$i" 2>"$T/err.$i" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
took=$(( $(date +%s) - start ))
expect_eq "$fails" 0 "every ssh -W of $N exits 0"
bad=0
for i in $(seq "$N"); do [ "$(cat "$T/out.$i")" = "line-$i" ] || bad=$((bad + 1)); done
expect_eq "$bad" 0 "every tunnel echoed its own line"
audit_wait '.["event.action"]=="tunnel.close" and .["network.protocol"]=="ssh"' "$N"
expect_eq "$(audit_count '.["event.action"]=="tunnel.open" and .["network.protocol"]=="ssh"')" "$N" "$N tunnel.open records"
first_close=$(jq -s '[.[]|select(.["event.action"]=="tunnel.close")|.seq]|min' "$AUDIT")
last_open=$(jq -s '[.[]|select(.["event.action"]=="tunnel.open")|.seq]|max' "$AUDIT")
[ "$last_open" -lt "$first_close" ] || fail "not all $N tunnels were open together (open seq $last_open, first close $first_close)"
log "ok: all $N tunnels were open at once; $N sessions in ${took} s (hold ${HOLD} s)"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close" and .["network.bytes_up"]==.["network.bytes_down"] and .["network.bytes_up"] > 5')" "$N" "each close records the bytes both ways"
[ "$took" -lt 60 ] || fail "$N tunnels took $took s"
stop_mwgd
