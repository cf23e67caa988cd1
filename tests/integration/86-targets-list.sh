#!/usr/bin/env bash
# What a person may reach: targets say what they are (kind, host), GET
# /v1/targets with a session certificate answers those the person's roles
# allow now and those only with break-glass, and nothing else (no other
# target, no address); mwg list prints them. Checked with curl and mwg.
. "$(dirname "$0")/common.sh"
MWG=$BIN/mwg
ALICE_PW=alice-Pw-86b2d1
make_ca
setup_identity "alice:$ALICE_PW:gp-clinicians"
cat >"$T/policy.conf" <<POLICY
practice K84001 "Banbury Cross Health Centre" {
    target emis      127.0.0.1:$HTTP_PORT { kind web; host EMIS.k84001.example.nhs.uk }
    target reception 127.0.0.1:$ECHO_PORT { kind rdp }
    target files     127.0.0.1:$SINK_PORT
}
practice K84002 {
    target emis      127.0.0.1:$DOWN_PORT { kind web; host emis.k84002.example.nhs.uk }
    target payroll   127.0.0.1:$((BASE + 5)) { kind web; host payroll.k84002.example.nhs.uk }
}
role clinician { groups gp-clinicians; targets emis reception }
role glass { groups gp-clinicians; practices *; targets emis; break-glass 1h }
role it { groups csu-it; practices *; targets *; device managed }
member group gp-clinicians { practices K84001 }
POLICY
write_conf
make_device laptop-1
make_device laptop-2 --device-only
"$BIN/mwg-testcert" --ca-dir "$T/ca" --id laptop-3 --out "$T/laptop-3" --user bob --group csu-it
start_mwgd

ask() {	# device [curl args]: body, then the status on its own line
	local dev=$1; shift
	local certs=()
	[ "$dev" != - ] && certs=(--cert "$T/$dev.pem" --key "$T/$dev.key")
	curl -sS --max-time 10 --cacert "$T/ca/root.pem" "${certs[@]}" -w '\n%{http_code}' "$@" "https://$GW/v1/targets"
}

ans=$(ask laptop-1)
log "alice: $ans"
expect_eq "$(tail -1 <<<"$ans")" 200 "GET /v1/targets with alice's session: 200"
body=$(sed '$d' <<<"$ans")
expect_eq "$(jq -c '[.targets[] | [.name, .practice, .port, .kind, (.host // "-"), .break_glass, (.practice_title // "-")]]' <<<"$body")" \
    "[[\"emis\",\"K84001\",$HTTP_PORT,\"web\",\"emis.k84001.example.nhs.uk\",false,\"Banbury Cross Health Centre\"],[\"reception\",\"K84001\",$ECHO_PORT,\"rdp\",\"-\",false,\"Banbury Cross Health Centre\"],[\"emis\",\"K84002\",$DOWN_PORT,\"web\",\"emis.k84002.example.nhs.uk\",true,\"-\"]]" \
    "alice: her role's two now, K84002's emis with break-glass, each with kind and host"
expect_eq "$(jq -r '[.user, .truncated] | @tsv' <<<"$body")" "alice	false" "alice: the answer names her"
expect_eq "$(jq -c '[.targets[] | keys] | add | unique' <<<"$body")" \
    '["break_glass","host","kind","name","port","practice","practice_title"]' "no field beyond these (no address)"
if grep -qE '"files"|payroll|127\.0\.0\.1|clinician|"(it|glass)"' <<<"$body"; then
	fail "the answer reveals a target, an address or a role it should not: $body"
fi

ans=$(ask laptop-3)
expect_eq "$(tail -1 <<<"$ans") $(sed '$d' <<<"$ans" | jq -c '[.user, .targets]')" '200 ["bob",[]]' \
    "bob (it, personal device): nothing listed"
ans=$(ask laptop-2)
expect_eq "$(tail -1 <<<"$ans") $(sed '$d' <<<"$ans" | jq -r .error)" "401 session-required" "a device certificate alone: 401"
ans=$(ask -)
expect_eq "$(tail -1 <<<"$ans") $(sed '$d' <<<"$ans" | jq -r .error)" "401 certificate-required" "no certificate: 401"
ans=$(ask laptop-1 -X POST --data '{}')
expect_eq "$(tail -1 <<<"$ans")" 405 "POST /v1/targets: 405"

"$BIN/mwgctl" -s "$CTL" lock user alice --reason "test lock" >/dev/null
ans=$(ask laptop-1)
expect_eq "$(tail -1 <<<"$ans") $(sed '$d' <<<"$ans" | jq -r .error)" "403 user-locked" "alice locked: 403"
"$BIN/mwgctl" -s "$CTL" unlock user alice >/dev/null

# mwg list, after the clinician guide's enrol and login.
enrol_totp alice
D=$T/laptop
code=$("$BIN/mwgctl" -s "$CTL" enrol-code create --user alice --practice K84001)
"$MWG" enrol --dir "$D" --gateway "$GW" --ca "$T/ca/root.pem" --code "$code" >/dev/null
rc=0; err=$("$MWG" list --dir "$D" 2>&1) || rc=$?
expect_eq "$rc $err" "1 mwg: list: not logged in (run mwg login)" "mwg list before login"
totp_settle
printf '%s\n' "$ALICE_PW" | "$MWG" login --dir "$D" --user alice --password-file - --otp "$(totp_code)" >/dev/null
out=$("$MWG" list --dir "$D")
log "mwg list:"; echo "$out"
expect_eq "$out" "you may reach now:
  emis.K84001:$HTTP_PORT      web  emis.k84001.example.nhs.uk Banbury Cross Health Centre
  reception.K84001:$ECHO_PORT rdp  -                          Banbury Cross Health Centre
only with break-glass (emergencies; every use is reviewed):
  emis.K84002:$DOWN_PORT      web  emis.k84002.example.nhs.uk
open one with: mwg open NAME.PRACTICE" "mwg list prints what /v1/targets answered"
stop_mwgd
