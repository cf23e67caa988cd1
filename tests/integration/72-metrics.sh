#!/usr/bin/env bash
# listen metrics: the Prometheus text format, scraped by a real Prometheus
# server (started here on loopback with a throwaway config and data
# directory), whose HTTP API then gives the exact counts of the traffic
# this test made; promtool accepts the output; no label names a person, a
# device or an address.
. "$(dirname "$0")/common.sh"
METRICS_PORT=$((BASE + 11))
PROM_PORT=$((BASE + 12))
ALICE_PW=alice-Pw-72c0de
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
enrol_device dev-1 alice
make_device laptop-1
write_policy
write_conf "listen metrics 127.0.0.1:$METRICS_PORT"
start_backend http "$HTTP_PORT"
start_mwgd
wait_port "$METRICS_PORT"
enrol_totp alice

# The traffic: 3 tunnels, 1 refusal, a good and a bad login, 2 failed
# handshakes, a good and a refused reload, a lock.
for _ in 1 2 3; do
	expect_eq "$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/")" 200 "a tunnel"
done
printf 'CONNECT nowhere.K84001:1 HTTP/1.1\r\nHost: x\r\n\r\n' | gw_raw laptop-1 >/dev/null || true
totp_settle
expect_eq "$(gw_login dev-1 alice "$ALICE_PW" "$(totp_code)" | tail -1)" 200 "a good login"
expect_eq "$(gw_login dev-1 alice wrong-password "$(totp_code 1)" | tail -1)" 401 "a wrong password"
timeout 5 openssl s_client -connect "$GW" -tls1_2 -cipher AES128-SHA </dev/null >/dev/null 2>&1 || true
(exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT"; exec 3>&-) || true
kill -HUP "$MWGD_PID"
audit_wait '.["event.action"]=="policy.reload" and .["event.outcome"]=="success"' 1
cp "$T/policy.conf" "$T/policy.good"; echo "role {" >>"$T/policy.conf"
"$BIN/mwgctl" -s "$CTL" reload >/dev/null 2>&1 || true
"$BIN/mwgctl" -s "$CTL" lock user bob --reason "test lock" >/dev/null
audit_wait '.["event.action"]=="tunnel.close"' 3

scrape() { curl -sS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"; }
for _ in $(seq 60); do
	grep -q '^mwg_tls_handshakes_total{result="peer-closed"} 2$' <(scrape) && break
	sleep 0.05
done
scrape >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 || fail "promtool refuses the output: $(cat "$T/promtool.out")"
log "ok: promtool check metrics accepts the output"
for who in alice bob dev-1 laptop-1 127.0.0.1; do
	grep -q -- "$who" "$T/metrics.txt" && fail "the metrics name $who: $(grep -m1 -- "$who" "$T/metrics.txt")"
done
log "ok: no person, device or address in the metrics"
m() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
expect_eq "$(m 'mwg_tunnels_total{protocol="tls",outcome="opened"}')" 3 "3 tunnels opened"
expect_eq "$(m 'mwg_tunnels_total{protocol="tls",outcome="refused"}')" 1 "1 refused"
expect_eq "$(m 'mwg_tunnels_closed_total{protocol="tls",reason="completed"}')" 3 "3 closed, completed"
expect_eq "$(m 'mwg_tunnels_open{protocol="tls"}')" 0 "none open now"
expect_eq "$(m 'mwg_logins_total{outcome="success"}')" 1 "1 good login"
expect_eq "$(m 'mwg_logins_total{outcome="failure"}')" 1 "1 failed login"
expect_eq "$(m 'mwg_login_failures_total{factor="password"}')" 1 "... failed by its password"
expect_eq "$(m 'mwg_login_failures_total{factor="code"}')" 0 "... not its code"
expect_eq "$(m 'mwg_tls_handshakes_total{result="protocol"}')" 1 "1 handshake without a shared suite"
# start_mwgd's port probe is one more connection that never says hello.
expect_eq "$(m 'mwg_tls_handshakes_total{result="peer-closed"}')" 2 "2 clients gone before their hello"
expect_eq "$(m 'mwg_policy_reloads_total{outcome="ok"}')" 1 "1 reload"
expect_eq "$(m 'mwg_policy_reloads_total{outcome="refused"}')" 1 "1 refused reload"
expect_eq "$(m 'mwg_locks_applied_total{kind="user"}')" 1 "1 lock"
expect_eq "$(m 'mwg_audit_unavailable')" 0 "the trail is writable"
[ "$(m 'mwg_audit_fsync_seconds_count')" -gt 0 ] || fail "no fdatasync counted"
[ "$(m 'process_resident_memory_bytes')" -gt 1000000 ] || fail "resident memory not read"
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/other")" 404 "only /metrics is served"

# A real Prometheus server scrapes it; its query API gives the same counts.
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: mwgd
    static_configs: [ { targets: ['127.0.0.1:$METRICS_PORT'] } ]
YML
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prometheus.log" 2>&1 &
PIDS+=($!)
query() {	# promql -> the value of the first result, or ""
	curl -sS --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
}
for _ in $(seq 150); do
	[ -n "$(query 'mwg_tunnels_total{protocol="tls",outcome="opened"}')" ] && break
	sleep 0.1
done
expect_eq "$(query 'mwg_tunnels_total{protocol="tls",outcome="opened"}')" 3 "Prometheus: 3 tunnels opened"
expect_eq "$(query 'sum(mwg_tunnels_total{outcome="refused"})')" 1 "Prometheus: 1 refused"
expect_eq "$(query 'mwg_login_failures_total{factor="password"}')" 1 "Prometheus: 1 wrong password"
expect_eq "$(query 'up{job="mwgd"}')" 1 "Prometheus: the target is up"
stop_mwgd
