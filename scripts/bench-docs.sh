#!/usr/bin/env bash
# Regenerates every committed bench result in docs/bench with the current
# binary: the reports (JSON) and their charts (SVG). BENCHMARKS.md quotes
# them; a test in benchmarks/ refuses a committed report of an older schema.
#
# It takes about 40 minutes on 2 cores. Run it on a machine that is
# otherwise idle: the reports carry the load average at their start and end.
#
# Settings, from the environment:
#   BIN=bin/chunkcode       the binary to measure (make build)
#   CLIPS=~/.cache/chunkcode/bench   where the generated inputs are kept
#   OUT=docs/bench          where the reports go
#   ONLY="h264 vp9"         regenerate only these reports (names as below)
set -eu

BIN=${BIN:-bin/chunkcode}
CLIPS=${CLIPS:-${XDG_CACHE_HOME:-$HOME/.cache}/chunkcode/bench}
OUT=${OUT:-docs/bench}
ONLY=${ONLY:-h264 vp9 av1 seg5-h264 seed seg18-720p projection-720p-6m lambda-loopback}

[ -x "$BIN" ] || { echo "bench-docs: $BIN is missing; run make build" >&2; exit 1; }
mkdir -p "$CLIPS" "$OUT"
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# clip1080.mp4: 10 s of 1080p30 testsrc2 with a 48 kHz AAC tone, a keyframe
# every 2 s (BENCHMARKS.md gives the same command).
clip=$CLIPS/clip1080.mp4
if [ ! -s "$clip" ]; then
	ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=10 \
		-f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 \
		-c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k -shortest "$clip.part.mp4"
	mv "$clip.part.mp4" "$clip"
fi

# seed-720p-6m.mp4: the 59:56 720p seed video at scale 0.1.
long=$CLIPS/seed-720p-6m.mp4
if want projection-720p-6m && [ ! -s "$long" ]; then
	ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
		-t 359.6 -vf scale=1280:720:flags=bicubic,format=yuv420p -c:v libx264 -preset ultrafast -g 60 \
		-af 'pan=stereo|c0=c0|c1=c0' -c:a aac -b:a 128k "$long.part.mp4"
	mv "$long.part.mp4" "$long"
fi

bench() { # name, then bench arguments
	local name=$1
	shift
	want "$name" || return 0
	echo "bench-docs: $name" >&2
	"$BIN" bench -q --json "$@" >"$OUT/$name.json.part"
	mv "$OUT/$name.json.part" "$OUT/$name.json"
}

for c in h264 vp9 av1; do
	bench $c --backends ffmpeg,local --codec $c --height 720 --workers 1,2,4 --runs 3 \
		--project-concurrency 100,1000 --chart "$OUT/$c.svg" "$clip"
done
bench seg5-h264 --backends ffmpeg,local --height 720 --workers 2 --segment-duration 5 "$clip"
bench seed --backends ffmpeg,local --profile seed --scale 0.02 --fixtures "$CLIPS/seed" --height 720 --workers 2 --runs 3 \
	--project-concurrency 100,1000 --chart "$OUT/seed.svg"
if want seg18-720p; then
	# --profile seed made this input above (or makes it now).
	seed720=$(ls "$CLIPS"/seed/seed-1280x720-*.mp4 2>/dev/null | head -1)
	if [ -z "$seed720" ]; then
		"$BIN" bench -q --profile seed --scale 0.02 --fixtures "$CLIPS/seed" --backends ffmpeg --runs 1 --warmup 0 --no-ssim >/dev/null
		seed720=$(ls "$CLIPS"/seed/seed-1280x720-*.mp4 | head -1)
	fi
	bench seg18-720p --backends ffmpeg,local --height 720 --workers 2 --segment-duration 18 "$seed720"
fi
bench projection-720p-6m --backends ffmpeg,local --workers 1 --runs 1 --warmup 0 --height 720 \
	--project-concurrency 100,1000 --chart "$OUT/projection-720p-6m.svg" "$long"

if want lambda-loopback; then
	# The Lambda backend on loopback: versitygw and two emulators running
	# BIN as the function (scripts/lambda-local.sh), stopped on exit.
	log=$(mktemp)
	BIN=$BIN ./scripts/lambda-local.sh >"$log" 2>&1 &
	local_pid=$!
	# TERM, not INT: a background job of a script ignores SIGINT.
	trap 'kill -TERM $local_pid 2>/dev/null; wait $local_pid 2>/dev/null; rm -f "$log"' EXIT
	for _ in $(seq 100); do grep -q -- '--lambda-endpoint' "$log" && break; sleep 0.2; done
	grep -q -- '--lambda-endpoint' "$log" || { cat "$log" >&2; exit 1; }
	AWS_ACCESS_KEY_ID=chunkcode-local AWS_SECRET_ACCESS_KEY=chunkcode-local-secret AWS_REGION=us-east-1 \
		AWS_ENDPOINT_URL_S3=http://127.0.0.1:7070 \
		bench lambda-loopback --height 720 --workers 2 --lambda-workers 2 --lambda-threads 1 \
		--bucket chunkcode --lambda-endpoint http://127.0.0.1:9000 --lambda-endpoint http://127.0.0.1:9001 \
		--memory 10240 --lambda-arch arm64 --runs 3 --project-concurrency 100,1000 \
		--chart "$OUT/lambda-loopback.svg" "$clip"
fi
