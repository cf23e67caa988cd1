#!/usr/bin/env bash
# Every verb and every option that mwgd, mwgctl and mwg print in --help
# (the programs' and each verb's) is named in README.md or docs/*.md, so
# the guides cannot drift from the programs silently. No daemon is run.
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOCS=("$ROOT/README.md" "$ROOT"/docs/*.md)
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0	# help texts only
gaps=()

help_of() {	# prog args...: its help text, which must exit 0 and say something
	local out
	out=$("$BIN/$1" "${@:2}" 2>&1) || fail "$* exited $?"
	[ -n "$out" ] || fail "$* printed nothing"
	printf '%s\n' "$out"
}

# The verbs a program's own help lists in its SYNOPSIS: up to two lower-case
# words after the program's name (and after each " | "), so "mwgctl
# [-s SOCKET] device list [--json] | device revoke ID" gives "device list"
# and "device revoke".
verbs_of() {	# prog helptext
	printf '%s\n' "$2" | sed -n '/^SYNOPSIS/,/^[A-Z]/p' |
	    grep -E "^ +$1 " | sed -E "s/^ +$1 //; s/\[-s SOCKET\] //" |
	    sed 's/ | /\n/g' | awk '{
		v = ""
		for (i = 1; i <= 2 && i <= NF; i++) {
			if ($i !~ /^[a-z][a-z-]*$/) break
			v = v (v == "" ? "" : " ") $i
		}
		if (v != "") print v
	}' | sort -u
}

# Options: --long words anywhere in the text but EXAMPLES (which show
# other tools' options too, e.g. oathtool --totp), and -x short options
# where an option stands (after a space, "[" or ", ", before a space, "]"
# or the end of the line).
options_of() {	# helptext
	local body
	body=$(printf '%s\n' "$1" | sed '/^EXAMPLES/,/^[A-Z]/{/^EXAMPLES/d;/^[A-Z]/!d}')
	{ printf '%s\n' "$body" | grep -oE -- '--[a-z][a-z0-9-]*' || true
	  printf '%s\n' "$body" | grep -oE -- '(^|[ [,])-[a-zA-Z]([] ,]|$)' |
	      grep -oE -- '-[a-zA-Z]' || true; } | sort -u
}

# Verbs and options are made of [a-z0-9 -] only: no regex escaping needed.
documented() {	# text: is it in README.md or docs/*.md as a whole word?
	grep -qE -- "(^|[^a-zA-Z0-9-])$1([^a-zA-Z0-9-]|$)" "${DOCS[@]}"
}

readme_list() {	# prog: README.md's bullet that lists prog's verbs
	awk -v p="- \`$1\` " 'index($0, p) == 1 { on = 1; print; next }
	    on && (/^- / || /^$/) { exit } on { print }' "$ROOT/README.md"
}

check_options() {	# what helptext
	local o
	for o in $(options_of "$2"); do
		documented "$o" || gaps+=("$1: option $o is in --help but in no doc")
	done
}

check_verbs() {	# prog helptext
	local v
	while read -r v; do
		[ -n "$v" ] || continue
		VERBS+=("$v")
		# The guides show it as a command, e.g. "mwgctl lock list".
		documented "$1 $v" || grep -qF -- "$1 [-s SOCKET] $v" "${DOCS[@]}" ||
		    gaps+=("$1 $v: the verb is in --help but no doc shows '$1 $v'")
		# README's list of each program's verbs names it.
		readme_list "$1" | grep -qE -- "(^|[^a-z-])${v%% *}([^a-z-]|$)" ||
		    gaps+=("$1 $v: README.md's list of $1's verbs lacks '${v%% *}'")
	done < <(verbs_of "$1" "$2")
}

# mwgd: one help, options only.
text=$(help_of mwgd --help)
check_options mwgd "$text"
expect_eq "$(help_of mwgd -h)" "$text" "mwgd -h and --help print the same"

for prog in mwgctl mwg; do
	VERBS=()
	text=$(help_of "$prog" --help)
	check_options "$prog" "$text"
	check_verbs "$prog" "$text"
	[ "${#VERBS[@]}" -ge 7 ] || fail "$prog --help: only ${#VERBS[@]} verbs found (${VERBS[*]})"
	log "ok: $prog --help lists ${#VERBS[@]} verbs: ${VERBS[*]}"
	for v in "${VERBS[@]}"; do
		# shellcheck disable=SC2086 # a verb is one or two words
		vtext=$(help_of "$prog" $v --help)
		check_options "$prog $v" "$vtext"
		# Two-word verbs: the first word's own help (mwgctl audit --help).
		[ "${v% *}" = "$v" ] || check_options "$prog ${v% *}" "$(help_of "$prog" ${v% *} --help)"
	done
done

if [ "${#gaps[@]}" -gt 0 ]; then
	printf '%s\n' "${gaps[@]}" | sort -u >&2
	fail "${#gaps[@]} things --help prints are in no guide"
fi
log "ok: every verb and option of mwgd, mwgctl and mwg --help is in README.md or docs/"
