#!/usr/bin/env bash
# The console's search over one million records (a real chain with signed
# checkpoints, bench/console_fill): exact counts for a person, a practice
# and an outcome, paging to the oldest page, a practice export equal to
# mwgctl's, and the time each answer took, end to end through HTTPS
# (printed, not asserted: the numbers are reported in docs/audit.md).
# make test runs it over 100,000 records (correctness); the 1,000,000-record
# measurement is CONSOLE_RECORDS=1000000 MWG_BUILD=build/release (bench/README.md).
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/console-common.sh"
N=${CONSOLE_RECORDS:-100000}
console_setup
mkdir -p "$T/big/trail"	# below what the secret scan collects
t0=$(date +%s.%N)
"$BIN/console_fill" "$T/big/trail/audit.jsonl" "$T/big/trail/audit.key" "$N"
log "wrote $N records in $(echo "$(date +%s.%N) - $t0" | bc) s ($(du -h "$T/big/trail/audit.jsonl" | cut -f1))"
# The console reads the big trail; mwgd (the usual one) records the notes.
"$BIN/mwg-console" -d --listen "127.0.0.1:$CONSOLE_PORT" \
	--cert "$T/ca/server.pem" --key "$T/ca/server.key" --control "$CTL" \
	--audit "$T/big/trail/audit.jsonl" >"$T/console.log" 2>&1 &
CONSOLE_PID=$!
PIDS+=("$CONSOLE_PID")
wait_port "$CONSOLE_PORT"
totp_settle
expect_eq "$(console_login carol "$CAROL_PW" "$(console_code carol)")" 303 "carol logs in"

# checkpoints are records too: count what console_fill wrote.
records=$(grep -c '"event.action":"tunnel\.\|"event.action":"auth\.login"\|"event.action":"session\.issue"' "$T/big/trail/audit.jsonl")
expect_eq "$records" "$N" "the trail holds $N records besides checkpoints"

search() {	# label query: prints the count, logs the time
	local out
	out=$(ccurl -b "$T/jar-carol" -o "$T/page.html" -w '%{time_total}' "$CONSOLE/audit?$2")
	grep -q '<p id="count">' "$T/page.html" || fail "$1: no result count"
	log >&2 "timing: $1: $(grep -o '<p id="count">[^<]*' "$T/page.html" | sed 's/.*">//') end to end ${out} s"
	grep -o '<p id="count">[0-9]*' "$T/page.html" | grep -o '[0-9]*$'
}
# The chain is checked on a thread from the start; searches do not wait.
t0=$(date +%s.%N)
c=$(search "first search, while the chain is being checked" "user=user-0042")
expect_eq "$c" $(( N / 1000 )) "a person's records"
for _ in $(seq 120); do
	grep -q 'Chain: OK: ' "$T/page.html" && break
	sleep 0.5
	search "waiting for the chain check" "user=user-0042" >/dev/null 2>&1
done
expect_match "$(cat "$T/page.html")" 'Chain: OK: [0-9]+ records .* \(checked at ' "the million-record chain verifies"
log "timing: the chain's check done within $(echo "$(date +%s.%N) - $t0" | bc) s of the first search"
expect_eq "$(search "a person" "user=user-0042")" $(( N / 1000 )) "a person's records, again"
expect_eq "$(search "a practice" "practice=k80007")" $(( N / 200 )) "a practice's records (any case)"
expect_eq "$(search "a person at a practice" "user=user-0007&practice=K80007")" $(( N / 1000 )) "person and practice"
expect_eq "$(search "an event prefix" "event=tunnel.")" $(( 3 * N / 5 )) "tunnel.* records (open, close, deny)"
expect_eq "$(search "an event" "event=auth.login")" $(( N / 5 )) "auth.login records"
expect_eq "$(search "failures" "outcome=failure")" $(( (N + 6) / 7 )) "failures"
# A time range: the newest 1000 records' seconds, counted with jq.
lines=$(wc -l <"$T/big/trail/audit.jsonl")
from=$(sed -n "$((lines - 999))p" "$T/big/trail/audit.jsonl" | jq -r '.["@timestamp"][0:19]')Z
want=$(jq -c --arg f "${from%Z}" 'select(.["@timestamp"][0:19] >= $f and .["event.outcome"]=="failure")' "$T/big/trail/audit.jsonl" | wc -l)
expect_eq "$(search "failures since a time" "since=$from&outcome=failure")" "$want" "failures since $from"
expect_eq "$(search "everything, newest page" "event=")" "$lines" "an empty field matches every line (checkpoints too)"
expect_eq "$(search "everything, page 199" "event=&page=199")" "$lines" "page 199"
expect_eq "$(grep -c '<tr><td>' "$T/page.html")" 50 "a full page"
want=$(sed -n "$((lines - 199 * 50))p" "$T/big/trail/audit.jsonl" | jq .seq)
expect_eq "$(grep -o '<tr><td>[0-9]*' "$T/page.html" | head -1 | grep -o '[0-9]*$')" "$want" "page 199 starts 9950 records back from the newest"

t=$(ccurl -b "$T/jar-carol" -o "$T/console.csv" -w '%{time_total}' "$CONSOLE/export?practice=K80007&format=csv")
log "timing: export of a practice ($(( N / 200 )) records) ${t} s"
"$BIN/mwgctl" audit export -s "$CTL" --practice K80007 --format csv "$T/big/trail/audit.jsonl" >"$T/mwgctl.csv"
cmp "$T/console.csv" "$T/mwgctl.csv" || fail "the console's CSV differs from mwgctl's"
expect_eq "$(( $(wc -l <"$T/console.csv") ))" $(( N / 200 + 1 )) "the export's rows and header"

stop_console
stop_mwgd
log "PASS"
