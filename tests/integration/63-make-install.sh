#!/usr/bin/env bash
# `make install` works into a temporary DESTDIR and, without DESTDIR, into
# a temporary PREFIX, twice in a row, and installs exactly the files that
# docs/operations.md's table lists, programs 0755 and the rest 0644.
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BIN/.." && pwd)
# Install what was built: -o keeps make from rebuilding the programs (a
# sanitizer build would otherwise be relinked without its flags).
install_into() {	# make variables...
	make -s -C "$ROOT" -o "$BIN/mwgd" -o "$BIN/mwgctl" -o "$BIN/mwg" -o "$BIN/mwg-console" \
	    install BUILD="$BUILD" "$@" >"$T/install.out" 2>&1 ||
	    { cat "$T/install.out" >&2; fail "make install $* failed"; }
}

# The table in operations.md §1: "| `$PREFIX/path` | what |". A row whose
# path ends in / lists its files in backquotes (names without a "/"; before any ":").
expected() {	# prefix
	grep -E '^\| `\$PREFIX/' "$ROOT/docs/operations.md" | while IFS='|' read -r _ path what _; do
		path=$(printf '%s' "$path" | tr -d ' `')
		path=${path/\$PREFIX/$1}
		if [[ $path == */ ]]; then
			printf '%s\n' "${what%%:*}" | grep -oE '`[^`/]+`' | tr -d '`' |
			    sed "s|^|$path|"
		else
			printf '%s\n' "$path"
		fi
	done | sort
}

[ -x "$BIN/mwgd" ] || fail "no $BIN/mwgd: build first"
expected /usr/local >"$T/want"
[ "$(wc -l <"$T/want")" -ge 15 ] || fail "operations.md's table lists only $(wc -l <"$T/want") files"

check_tree() {	# root prefix what
	(cd "$1" && find . -type f | sed 's|^\.||' | sort) >"$T/got"
	expected "$2" >"$T/want"
	diff -u "$T/want" "$T/got" >&2 || fail "$3: installed files differ from operations.md's table (- table, + installed)"
	log "ok: $3: the $(wc -l <"$T/got") files of operations.md's table, no more"
	local bad
	bad=$(cd "$1" && find . -type f \( \( -path '*/bin/*' -o -path '*/sbin/*' \) ! -perm 0755 -o \
	    ! -path '*/bin/*' ! -path '*/sbin/*' ! -perm 0644 \) -printf '%p %m\n')
	[ -z "$bad" ] || fail "$3: wrong modes: $bad"
	log "ok: $3: programs 0755, everything else 0644"
}

install_into DESTDIR="$T/dest" PREFIX=/usr/local
check_tree "$T/dest" /usr/local "DESTDIR=$T/dest PREFIX=/usr/local"
install_into DESTDIR="$T/dest" PREFIX=/usr/local
check_tree "$T/dest" /usr/local "installed twice into the same DESTDIR"
cmp -s "$ROOT/docs/README.md" "$T/dest/usr/local/share/doc/mwg/docs/README.md" &&
    cmp -s "$ROOT/README.md" "$T/dest/usr/local/share/doc/mwg/README.md" ||
    fail "README.md and docs/README.md were not both installed as they are"
log "ok: README.md and docs/README.md both installed, neither over the other"

install_into PREFIX="$T/prefix"
check_tree "$T/prefix" "" "no DESTDIR, PREFIX=$T/prefix"
"$T/prefix/sbin/mwgd" -h >/dev/null || fail "the installed mwgd does not run"
log "ok: the installed mwgd runs"

# The guides' relative links still resolve where they are installed.
doc=$T/dest/usr/local/share/doc/mwg
for f in "$doc"/README.md "$doc"/SECURITY.md "$doc"/docs/*.md; do
	{ grep -oE '\]\([^)#]+\.md' "$f" || true; } | sed 's/^](//' | sort -u >"$T/links"
	while read -r link; do
		case $link in ../bench/*|bench/*) continue ;; esac	# not installed
		[ -f "$(dirname "$f")/$link" ] || fail "${f#"$doc"/} links to $link, not installed there"
	done <"$T/links"
done
log "ok: every link between the installed guides resolves"
