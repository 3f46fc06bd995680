#!/usr/bin/env bash
# Runs chunkcode's Lambda backend on this machine: an S3 server (versitygw,
# posix backend in a temporary directory) and N Lambda emulators
# (aws-lambda-rie), each serving one invocation at a time of bin/chunkcode
# as the function. Everything listens on 127.0.0.1. It prints the
# environment and flags to use, then runs until Ctrl-C, which stops it all
# and removes the temporary directory.
#
# Settings, from the environment:
#   N=2            number of emulators
#   S3_PORT=7070   versitygw port
#   RIE_PORT=9000  first emulator port (N consecutive ports; their runtime
#                  APIs use RIE_PORT+100 onwards)
#   BUCKET=chunkcode
#   BIN=bin/chunkcode  the function binary (make build)
#   TIMEOUT=900    function timeout in seconds
# `make lambda-local` installs the pinned tools and builds BIN first.
set -eu

N=${N:-2}
S3_PORT=${S3_PORT:-7070}
RIE_PORT=${RIE_PORT:-9000}
BUCKET=${BUCKET:-chunkcode}
BIN=${BIN:-bin/chunkcode}
TIMEOUT=${TIMEOUT:-900}
ACCESS=chunkcode-local
SECRET=chunkcode-local-secret

GOBIN=$(go env GOPATH)/bin
PATH=$GOBIN:$PATH
for tool in versitygw aws-lambda-rie; do
	command -v "$tool" >/dev/null || { echo "lambda-local: $tool is missing; run make tools" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "lambda-local: $BIN is missing; run make build" >&2; exit 1; }
bin=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

wait_port() {
	local tries=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 100 ] || { echo "lambda-local: nothing listens on 127.0.0.1:$1; see $2" >&2; exit 1; }
		sleep 0.1
	done
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/chunkcode-lambda-local.XXXXXX")
pids=""
cleanup() {
	trap - EXIT INT TERM
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$dir/root/$BUCKET" "$dir/meta"
versitygw --port "127.0.0.1:$S3_PORT" --access "$ACCESS" --secret "$SECRET" --region us-east-1 --quiet \
	posix --sidecar "$dir/meta" "$dir/root" >"$dir/versitygw.log" 2>&1 &
pids="$!"
wait_port "$S3_PORT" "$dir/versitygw.log"

endpoints=""
i=0
while [ $i -lt "$N" ]; do
	port=$((RIE_PORT + i))
	mkdir -p "$dir/fn-$i"
	CHUNKCODE_ALLOW_HTTP=1 CHUNKCODE_S3_ENDPOINT=127.0.0.1 AWS_LAMBDA_FUNCTION_TIMEOUT=$TIMEOUT TMPDIR="$dir/fn-$i" \
		aws-lambda-rie --runtime-interface-emulator-address "127.0.0.1:$port" \
		--runtime-api-address "127.0.0.1:$((RIE_PORT + 100 + i))" "$bin" >"$dir/rie-$i.log" 2>&1 &
	pids="$pids $!"
	wait_port "$port" "$dir/rie-$i.log"
	endpoints="$endpoints --lambda-endpoint http://127.0.0.1:$port"
	i=$((i + 1))
done

cores=$(nproc 2>/dev/null || echo 2)
threads=$((cores / N))
[ "$threads" -gt 0 ] || threads=1

cat <<EOF
S3 (versitygw) on http://127.0.0.1:$S3_PORT, bucket $BUCKET, data in $dir/root
$N Lambda emulators running $bin, logs in $dir

In another terminal:

export AWS_ACCESS_KEY_ID=$ACCESS AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
$bin transcode --backend lambda --bucket $BUCKET$endpoints --threads $threads INPUT OUTPUT

Ctrl-C stops everything.
EOF

# Ctrl-C ends the run as asked for, with status 0: make then says nothing.
trap 'exit 0' INT TERM
if [ -t 0 ]; then
	# Wait in a process group of our own that holds the terminal, so that
	# Ctrl-C reaches only that wait, not make, this script or the servers,
	# which cleanup stops in order.
	trap : INT
	set -m
	sleep infinity &
	fg %% >/dev/null || true
	set +m
	echo
else
	wait
fi
echo "lambda-local: stopped; removed $dir"
