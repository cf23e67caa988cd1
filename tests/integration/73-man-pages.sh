#!/usr/bin/env bash
# The man pages in man/ against what the programs and the config readers
# know, so that a new option, verb or keyword without documentation fails:
#   - every option (--long anywhere but EXAMPLES; -x where an option list
#     or a synopsis puts it) that `mwgd -h`, `mwg [VERB] --help` and
#     `mwgctl [VERB [SUB]] --help` print is an .Fl in mwgd(8), mwg(1) or
#     mwgctl(8);
#   - every lowercase word of their SYNOPSIS and usage: lines (verbs,
#     sub-verbs, literal arguments such as jsonl|csv; not a placeholder
#     alone in brackets, "[options]") is a .Cm or .Ic there;
#   - every keyword of mwgd.conf (gateway/config.c) is a .Ic or .Cm in
#     mwgd.conf(5), every keyword of policy.conf (policy/*.c) one in
#     policy.conf(5), and `include` (common/conf.c) one in both.
# "Is a .Fl" is read from mandoc's HTML (class="Fl", "Cm", "Ic"), so a word
# that only occurs in prose does not count. Each page passes
# `mandoc -T lint -W warning` and renders with `man -l`. Last, the same
# comparison runs on copies with one entry of each kind taken out, and must
# fail for each.
. "$(dirname "$0")/common.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$SRC/man
command -v mandoc >/dev/null || fail "mandoc is missing (deploy/deps.sh test)"

# ---- the pages are well-formed ------------------------------------------
for page in mwg.1 mwgd.conf.5 policy.conf.5 mwgd.8 mwgctl.8; do
	[ -f "$MAN/$page" ] || fail "man/$page is missing"
	lint=$(mandoc -T lint -W warning "$MAN/$page" 2>&1) ||
		fail "mandoc -T lint $page: $lint"
	err=$(MANWIDTH=80 man -l "$MAN/$page" 2>&1 >/dev/null) || true
	[ -z "$err" ] || fail "man -l $page: $err"
	[ "$(MANWIDTH=80 man -l "$MAN/$page" 2>/dev/null | wc -l)" -gt 30 ] ||
		fail "man -l $page renders almost nothing"
done
log "ok: 5 pages pass mandoc -T lint -W warning and render with man -l"

# ---- what the programs print --------------------------------------------
HELP=$T/help
mkdir -p "$HELP"
export MWG_CONTROL=$T/no-such-socket	# --help must never reach a daemon
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0	# help texts only
export MWG_DIR=$T/no-such-dir

"$BIN/mwgd" -h >"$HELP/mwgd.txt"

# The lowercase words of SYNOPSIS sections and usage: lines naming PROG.
synopsis_words() {	# prog file...
	awk -v prog="$1" '
		FNR == 1 { sec = ""; u = 0; in_entry = 0 }
		/^[A-Z][A-Z ]*$/ { sec = $0; u = 0; in_entry = 0; next }
		/^usage:/ { sub(/^usage:/, ""); u = 1 }
		!/^[ \t]/ && !/^ *$/ && !/^ *prog/ { u = 0 }
		!(sec == "SYNOPSIS" || u) { in_entry = 0; next }
		$1 == prog { in_entry = 1; sub("^ *" prog " ", ""); print; next }
		in_entry && $1 ~ /^[[(|]/ { print; next }	# a continued entry
		{ in_entry = 0 }
	' "${@:2}" | sed -E 's/\[[a-z]+\]//g' | tr ' |[]()' '\n\n\n\n\n\n' |
		grep -E '^[a-z][a-z0-9-]*$' | sort -u
}

"$BIN/mwg" --help >"$HELP/mwg.txt"
for v in $(synopsis_words mwg "$HELP/mwg.txt"); do
	"$BIN/mwg" "$v" --help >"$HELP/mwg-$v.txt" 2>/dev/null || true
done

"$BIN/mwgctl" --help >"$HELP/mwgctl.txt"
# Verbs, then the sub-verbs their own help names (ca init, audit prune...).
for v in $(awk '/^[A-Z][A-Z ]*$/{s=$0;next} s=="SYNOPSIS" && $1=="mwgctl"' \
	"$HELP/mwgctl.txt" | sed -E 's/^ *mwgctl (\[-s SOCKET\] )?//' |
	awk '{print $1}' | grep -E '^[a-z][a-z-]*$' | sort -u); do
	"$BIN/mwgctl" "$v" --help >"$HELP/mwgctl-$v.txt" 2>&1 || true
	for s in $(synopsis_words mwgctl "$HELP/mwgctl-$v.txt" |
		grep -vx "$v"); do
		"$BIN/mwgctl" "$v" "$s" --help >"$HELP/mwgctl-$v-$s.txt" 2>/dev/null ||
			rm -f "$HELP/mwgctl-$v-$s.txt"
	done
done
[ -s "$HELP/mwgctl-audit-prune.txt" ] && [ -s "$HELP/mwgctl-ca-init.txt" ] ||
	fail "sub-verb help was not found (mwgctl audit prune --help, ca init --help)"

# Options: --long anywhere outside EXAMPLES; a short -x only at the start
# of a line, after '[', ',' or '|', or after the program's name or another
# short option (so "ssh -o ..." in a description is not one of ours).
options() {	# prog file...
	awk 'FNR==1{s=""} /^[A-Z][A-Z ]*$/{s=$0;next} s!~/^EXAMPLES?$/' "${@:2}" >"$T/opt.txt"
	{
		grep -oP '(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*' "$T/opt.txt" || true
		grep -oP "(^\s*|\[|, |\| |\b$1 |(?<![A-Za-z0-9-])-[a-zA-Z] )\K-[a-zA-Z](?=[\s\],|]|$)" "$T/opt.txt" || true
	} | sort -u
}

# ---- what the config readers know ---------------------------------------
# Keywords are the string literals that the readers compare a statement's
# name or argument with: str(case)cmp(X, "word") and strcmp("word", X),
# the first field of keyword tables { "word", ... }, every literal of
# `static const char *const NAME[] = { ... }` lists, and the fixed word
# passed to policy_parse.c's one_word() and word_value(). Only words of
# a-z, 0-9 and '-' count ("*" and "udp://" are prose in the pages).
keywords() {	# file...
	python3 - "$@" <<'PY'
import re, sys
word = re.compile(r'^[a-z][a-z0-9-]*$')
found = set()
for path in sys.argv[1:]:
    text = open(path).read()
    pats = [r'\bstr(?:case)?cmp\([^;"()]*"([^"]*)"\s*\)',
            r'\bstr(?:case)?cmp\(\s*"([^"]*)"',
            r'\{\s*"([^"]*)"\s*,',
            r'\b(?:one_word|word_value)\([^;"()]*"([^"]*)"\s*\)']
    for p in pats:
        found.update(re.findall(p, text))
    for body in re.findall(r'static const char \*const \w+\[\] = \{([^}]*)\}', text):
        found.update(re.findall(r'"([^"]*)"', body))
print("\n".join(sorted(w for w in found if word.match(w))))
PY
}
keywords "$SRC/gateway/config.c" "$SRC/common/conf.c" >"$T/kw-mwgd.conf.txt"
keywords "$SRC"/policy/*.c "$SRC/common/conf.c" >"$T/kw-policy.conf.txt"
# If the extraction breaks (a helper renamed, a table reshaped), these go.
for w in include listen worker-connections months pam-service syslog metrics; do
	grep -qx "$w" "$T/kw-mwgd.conf.txt" || fail "extraction lost '$w' from gateway/config.c"
done
for w in include role break-glass firewall required within max report-only managed group; do
	grep -qx "$w" "$T/kw-policy.conf.txt" || fail "extraction lost '$w' from policy/*.c"
done

# ---- the comparison ------------------------------------------------------
marked() {	# page classes-regex: the words the page marks up so
	# One line: mandoc wraps long lines, inside an element too.
	mandoc -T html "$1" | tr '\n' ' ' | grep -oP "<code class=\"($2)\"[^>]*>\K[^<]+" |
		tr ' ' '\n' | sed -E 's/[.,;:]+$//' | sort -u
}
missing=()
need() {	# page classes what list-file
	local have
	have=$(marked "$1" "$2")
	while read -r w; do
		[ -n "$w" ] || continue
		grep -qxF -- "$w" <<<"$have" || missing+=("$(basename "$1"): $3 $w")
	done <"$4"
}
compare() {	# mandir
	missing=()
	options mwgd "$HELP/mwgd.txt" >"$T/o-mwgd"
	options mwg "$HELP"/mwg.txt "$HELP"/mwg-*.txt >"$T/o-mwg"
	options mwgctl "$HELP"/mwgctl.txt "$HELP"/mwgctl-*.txt >"$T/o-mwgctl"
	synopsis_words mwg "$HELP"/mwg.txt "$HELP"/mwg-*.txt >"$T/w-mwg"
	synopsis_words mwgctl "$HELP"/mwgctl.txt "$HELP"/mwgctl-*.txt >"$T/w-mwgctl"
	need "$1/mwgd.8" Fl option "$T/o-mwgd"
	need "$1/mwg.1" Fl option "$T/o-mwg"
	need "$1/mwg.1" 'Cm|Ic' verb "$T/w-mwg"
	need "$1/mwgctl.8" Fl option "$T/o-mwgctl"
	need "$1/mwgctl.8" 'Cm|Ic' verb "$T/w-mwgctl"
	need "$1/mwgd.conf.5" 'Ic|Cm' keyword "$T/kw-mwgd.conf.txt"
	need "$1/policy.conf.5" 'Ic|Cm' keyword "$T/kw-policy.conf.txt"
}

compare "$MAN"
[ ${#missing[@]} -eq 0 ] || fail "undocumented: ${missing[*]}"
log "ok: documented: $(wc -l <"$T/o-mwgd") mwgd options;" \
	"$(wc -l <"$T/o-mwg") mwg options, $(wc -l <"$T/w-mwg") words;" \
	"$(wc -l <"$T/o-mwgctl") mwgctl options, $(wc -l <"$T/w-mwgctl") words;" \
	"$(wc -l <"$T/kw-mwgd.conf.txt") mwgd.conf and" \
	"$(wc -l <"$T/kw-policy.conf.txt") policy.conf keywords"
expect_eq "$(grep -c . "$T/o-mwgd")" 4 "mwgd -h names -d -f -h -n"

# ---- and the comparison can fail ----------------------------------------
# page % sed -E expression that turns the markup into plain .Li % expected
cases=(
	'mwgd.conf.5%s/Ic worker-connections/Li worker-connections/g%mwgd.conf.5: keyword worker-connections'
	'policy.conf.5%s/Cm within/Li within/g%policy.conf.5: keyword within'
	'policy.conf.5%s/Ic include/Li include/g%policy.conf.5: keyword include'
	'mwg.1%s/Fl -allow-remote/Li allow-remote/g%mwg.1: option --allow-remote'
	'mwg.1%s/Cm ssh-config/Li ssh-config/g%mwg.1: verb ssh-config'
	'mwgctl.8%s/Cm totp import/Cm totp Li import/g%mwgctl.8: verb import'
	'mwgctl.8%s/Fl -practice-retention/Li practice-retention/g%mwgctl.8: option --practice-retention'
	'mwgd.8%s/Fl n( |$)/Li n\1/g%mwgd.8: option -n'
)
for c in "${cases[@]}"; do
	IFS='%' read -r page expr want <<<"$c"
	rm -rf "$T/broken" && cp -r "$MAN" "$T/broken"
	sed -E -i "$expr" "$T/broken/$page"
	! cmp -s "$MAN/$page" "$T/broken/$page" || fail "case '$expr' changed nothing"
	compare "$T/broken"
	printf '%s\n' "${missing[@]}" | grep -qxF "$want" ||
		fail "'$expr' on $page was not noticed (got: ${missing[*]:-nothing})"
done
log "ok: a keyword, an option or a verb taken out of a page fails the comparison (${#cases[@]} cases)"
