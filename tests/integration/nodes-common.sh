# Two gateway nodes on loopback for scenarios 56 and 57, sourced after
# common.sh: gw-a on 127.0.0.2 and gw-b on 127.0.0.3, the same CA and
# policy, each its own state-dir, audit trail (log-N/audit.jsonl),
# control socket (N.sock) and node-name; tracked as mwgd-a and mwgd-b.
declare -A ADDR=([a]=127.0.0.2 [b]=127.0.0.3) PID=()

# Writes mwgd-N.conf. Extra lines: NODE_AUDIT (inside audit { }),
# NODE_TOP (top level), NODE_TLS (inside listen tls { }).
node_conf() {	# a|b
	local n=$1
	mkdir -p "$T/state-$n" "$T/log-$n"
	chown nobody:nogroup "$T/state-$n" "$T/log-$n" 2>/dev/null || true
	cat >"$T/mwgd-$n.conf" <<CONF
user nobody
group nogroup
node-name gw-$n
state-dir $T/state-$n
workers 1
policy $T/policy.conf
control $T/$n.sock
audit {
    file $T/log-$n/audit.jsonl
    ${NODE_AUDIT:-}
}
${NODE_TOP:-}
listen tls ${ADDR[$n]}:$GW_PORT {
    certificate $T/ca/server.pem
    key         $T/ca/server.key
    ca          $T/ca/issuing.pem
    ca-key      $T/ca/issuing.key
    root        $T/ca/root.pem
    ${NODE_TLS:-}
}
CONF
}

start_node() {	# a|b [run]: as start_mwgd, tracked as mwgd-a / mwgd-b
	local n=$1 log=$T/mwgd-$1${2:-}.log
	# A log of its own per run: an earlier run's "listening on" must not
	# be taken for this one's.
	env "${MWGD_ENV[@]}" "$BIN/mwgd" -d -f "$T/mwgd-$n.conf" >"$log" 2>&1 &
	PID[$n]=$!
	proc_track "mwgd-$n" "${PID[$n]}" 0 "$log"
	wait_listening "${PID[$n]}" "$log" "mwgd-$n"
}

# A node's trail, as audit_select and friends see it.
on() {	# a|b function args...
	local n=$1
	shift
	AUDIT=$T/log-$n/audit.jsonl "$@"
}
