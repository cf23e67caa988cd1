#!/usr/bin/env bash
# The systemd unit's sandbox (issue 16): `systemd-analyze security
# --offline=true deploy/mwgd.service` scores it at most 2.0, and the unit
# gives mwgd what its start as the user needs (68 starts it so): User=mwg,
# and the same four capabilities ambient and bounding, which are the three
# the monitor keeps to start its network process plus binding. Offline:
# needs systemd-analyze, not a running systemd.
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$ROOT/deploy/mwgd.service
MAX=2.0
command -v systemd-analyze >/dev/null || fail "no systemd-analyze (package systemd)"

out=$(systemd-analyze security --offline=true "$UNIT" 2>&1) ||
	fail "systemd-analyze security: $out"
score=$(sed -n 's/.*Overall exposure level for mwgd.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || fail "no exposure figure in: $(tail -3 <<<"$out")"
log "exposure $score; what is left:"
awk '/✗/ { print "    " $2, $NF }' <<<"$out"
awk -v s="$score" -v m="$MAX" 'BEGIN { exit !(s + 0 <= m + 0) }' ||
	fail "exposure $score is above $MAX"
log "ok: exposure $score <= $MAX"

val() { sed -n "s/^$1=//p" "$UNIT"; }
caps="CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SYS_CHROOT"
expect_eq "$(val User):$(val Group)" "mwg:mwg" "the unit starts mwgd as mwg, not root"
expect_eq "$(val AmbientCapabilities)" "$caps" "ambient capabilities: bind, and what the network process's start needs"
expect_eq "$(val CapabilityBoundingSet)" "$caps" "bounding set: the same four"
