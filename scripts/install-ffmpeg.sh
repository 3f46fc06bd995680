#!/bin/sh
# Installs ffmpeg (with ffprobe) from the system package manager.
set -eu
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if command -v apt-get >/dev/null; then
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ffmpeg
elif command -v brew >/dev/null; then
	brew install ffmpeg
elif command -v dnf >/dev/null; then
	$sudo dnf install -y ffmpeg
else
	echo "install-ffmpeg: no known package manager; install ffmpeg 5.1 or newer yourself" >&2
	exit 1
fi
ffmpeg -hide_banner -version | head -n 1
