#!/usr/bin/env bash
# Live policy reload under traffic: a tunnel streams data across 20
# reloads and every byte arrives; a reload that takes the person's access
# away closes the tunnel within a second (reason policy-changed); a
# report-only role is judged and audited but never enforced.
. "$(dirname "$0")/common.sh"
TRIAL='role trial {
    groups    gp-clinicians
    practices *
    targets   emis
    hours     mon-sun 00:00-00:01
    mode      report-only
}'
make_ca
make_device laptop-1
write_policy "$TRIAL"
write_conf
start_backend echo "$ECHO_PORT"
start_backend http "$HTTP_PORT"
start_mwgd

# A report-only role that would deny: audited as such, the request allowed.
code=$(gw_curl laptop-1 -o /dev/null -w '%{http_code}' "http://emis.K84001:$HTTP_PORT/" 2>/dev/null || true)
expect_eq "$code" 200 "a report-only role does not change the outcome"
audit_wait '.["event.action"]=="policy.report_only" and .["mwg.report_rule"]=="role trial"' 1
expect_eq "$(audit_select '.["event.action"]=="policy.report_only"' | jq -r '.["mwg.would"]' | head -1)" deny "it is recorded as would deny"

# Stream through an echo tunnel while reloading 20 times; compare digests.
cat >"$T/stream.py" <<'PY'
import hashlib, os, socket, ssl, subprocess, sys, time
gw, port, ca, cert, key, target, ctl, mwgctl, policy = sys.argv[1:10]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection((gw, int(port))), server_hostname=gw)
s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 200"), head
sent, got = hashlib.sha256(), hashlib.sha256()
nsent = nrecv = 0
s.settimeout(10)
for i in range(20):
    chunk = os.urandom(65536)
    s.sendall(chunk); sent.update(chunk); nsent += len(chunk)
    with open(policy, "a") as f:
        f.write(f"# reload {i}\n")
    subprocess.run([mwgctl, "-s", ctl, "reload"], check=True, stdout=subprocess.DEVNULL)
    while nrecv < nsent:
        b = s.recv(65536)
        if not b:
            sys.exit(f"tunnel closed during reload {i} after {nrecv} bytes")
        got.update(b); nrecv += len(b)
print(nsent, nrecv, "same" if sent.digest() == got.digest() else "differ")
PY
out=$(python3 "$T/stream.py" 127.0.0.1 "$GW_PORT" "$T/ca/root.pem" "$T/laptop-1.pem" "$T/laptop-1.key" \
	"echo.K84001:$ECHO_PORT" "$CTL" "$BIN/mwgctl" "$T/policy.conf")
expect_eq "$out" "1310720 1310720 same" "1.25 MiB through one tunnel across 20 reloads, byte-exact"
expect_eq "$(audit_count '.["event.action"]=="policy.reload" and .["event.outcome"]=="success"')" 20 "20 reloads audited"
expect_eq "$(audit_count '.["event.action"]=="tunnel.close" and .["event.reason"]=="policy-changed"')" 0 "no tunnel closed by a reload that kept access"

# Take alice's access away: her open tunnel closes within a second.
open_tunnel laptop-1 "echo.K84001:$ECHO_PORT"
sed -i 's/^    groups    gp-clinicians csu-it$/    groups    csu-it/' "$T/policy.conf"
grep -q '^    groups    csu-it$' "$T/policy.conf" || fail "policy edit did not apply"
t0=$(date +%s%3N)
"$BIN/mwgctl" -s "$CTL" reload >/dev/null
while read -r -t 5 _ <&"$tout"; do :; done
took=$(( $(date +%s%3N) - t0 ))
[ "$took" -lt 1000 ] || fail "tunnel closed $took ms after the reload"
log "ok: tunnel closed $took ms after the reload that removed access"
audit_wait '.["event.action"]=="tunnel.close" and .["event.reason"]=="policy-changed" and .["user.name"]=="alice"' 1
code=$(gw_curl laptop-1 -o /dev/null -w '%{http_connect}' "http://echo.K84001:$ECHO_PORT/" 2>/dev/null || true)
expect_eq "$code" 403 "new CONNECTs are refused under the new policy"
stop_mwgd
