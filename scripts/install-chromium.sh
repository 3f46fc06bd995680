#!/bin/sh
# Installs what the browser tests (internal/browsertest) need from Debian's
# packages: chromium at /usr/bin/chromium, and node with npm when missing.
# No browser is downloaded by npm: puppeteer-core drives this chromium.
set -eu
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null; then
	echo "install-chromium: no apt-get; install chromium (at /usr/bin/chromium, or set CHROMIUM) and node 18 or newer yourself" >&2
	exit 1
fi
pkgs=""
[ -x /usr/bin/chromium ] || pkgs="chromium"
command -v node >/dev/null || pkgs="$pkgs nodejs"
command -v npm >/dev/null || pkgs="$pkgs npm"
if [ -n "$pkgs" ]; then
	$sudo apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs
fi
/usr/bin/chromium --version
