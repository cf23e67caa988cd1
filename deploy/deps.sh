#!/bin/sh
# Installs the Debian packages mwg needs, only those missing, without
# questions. Groups: build (always), test, demo, bench, fuzz, deb (what
# make deb needs; test has it too, for 74-deb.sh); default is
# build+test+demo. Not root and something missing: prints the exact
# apt-get line and exits 1.
set -eu

BUILD_PKGS="gcc make pkg-config libssl-dev libevent-dev libjansson-dev libhttp-parser-dev libsqlite3-dev libpq-dev liboath-dev libpam0g-dev libqrencode-dev libssh-dev libsystemd-dev libseccomp-dev tzdata"
# make test builds every fuzz harness (clang-14 libFuzzer) and replays its corpus;
# scenarios 51-52 put a real HAProxy in front of mwgd; store_pg_test starts a
# throwaway PostgreSQL cluster (initdb, pg_ctl).
TEST_PKGS="libcriterion-dev postgresql curl openssl jq haproxy procps rsyslog rsyslog-gnutls oathtool libpam-wrapper libnss-wrapper openssh-client ssh-audit prometheus mandoc man-db debhelper dpkg-dev fakeroot lintian clang-14 libclang-rt-14-dev chromium libnss3-tools nodejs python3 libgtk-4-dev xvfb xdotool imagemagick xrdp freerdp2-x11"
DEMO_PKGS="curl openssl jq oathtool libpam-wrapper libnss-wrapper"
# nginx: its stream module is a package of its own on Debian (dynamic).
BENCH_PKGS="postgresql stunnel4 haproxy nginx libnginx-mod-stream util-linux procps openssh-server openssh-client linux-perf strace"
FUZZ_PKGS="clang-14 libclang-rt-14-dev"
DEB_PKGS="debhelper dpkg-dev fakeroot lintian mandoc"

groups="${*:-build test demo}"
want="$BUILD_PKGS"
for g in $groups; do
	case "$g" in
	build) ;;
	test) want="$want $TEST_PKGS" ;;
	demo) want="$want $DEMO_PKGS" ;;
	bench) want="$want $BENCH_PKGS" ;;
	fuzz) want="$want $FUZZ_PKGS" ;;
	deb) want="$want $DEB_PKGS" ;;
	*) echo "deps.sh: unknown group '$g' (build test demo bench fuzz deb)" >&2; exit 2 ;;
	esac
done

# The browser test (scenario 81) runs puppeteer-core under node: npm comes
# with some nodejs builds and is Debian's own package otherwise.
case " $want " in *" nodejs "*) command -v npm >/dev/null 2>&1 || want="$want npm" ;; esac

# mwgd's network process runs as a user of its own (docs/operations.md,
# section 1); the tests and the demo start mwgd as root, so it must exist.
case " $groups " in *" test "*|*" demo "*)
	if ! getent passwd mwg-net >/dev/null; then
		if [ "$(id -u)" -eq 0 ]; then
			useradd --system --no-create-home --home-dir /nonexistent \
			    --shell /usr/sbin/nologin mwg-net
		else
			echo "deps.sh: as root: useradd --system --no-create-home" \
			    "--shell /usr/sbin/nologin mwg-net" >&2
		fi
	fi ;;
esac

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root:  apt-get update && $line" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
