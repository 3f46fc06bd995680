# chunkcode: `make run` installs what is missing, builds and transcodes a
# generated sample; `make test` runs every test.

GO       ?= go
BIN      := bin/chunkcode
GOBIN    := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)

# Pinned tools for the Lambda end-to-end tests.
RIE_VERSION       := v0.0.0-20261030222936-bef5c4ba774d
VERSITYGW_VERSION := v1.8.0

.PHONY: all build run test deps ffmpeg tools jaeger browser sample vet clean

all: build

## build: compile bin/chunkcode
build:
	$(GO) build -o $(BIN) ./cmd/chunkcode

## ffmpeg: install ffmpeg and ffprobe from the system package manager when missing
ffmpeg:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || ./scripts/install-ffmpeg.sh

## tools: install the pinned test tools (Lambda emulator, S3 server, Jaeger)
tools: jaeger
	@test -x $(GOBIN)/aws-lambda-rie || $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	@test -x $(GOBIN)/versitygw || $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

## browser: install Chromium (Debian's package) and the pinned player packages
## for the browser tests (npm ci when node_modules is missing or stale)
PLAYER := internal/browsertest/player
browser: $(PLAYER)/node_modules/.package-lock.json
	@test -x /usr/bin/chromium || ./scripts/install-chromium.sh

$(PLAYER)/node_modules/.package-lock.json: $(PLAYER)/package.json $(PLAYER)/package-lock.json
	@command -v npm >/dev/null || ./scripts/install-chromium.sh
	cd $(PLAYER) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

## jaeger: build the Jaeger pinned in tools/jaeger/go.mod once, for the tracing
## tests (go install refuses it for its replace directives; it takes minutes)
jaeger:
	@test -x $(GOBIN)/jaeger || { echo "building jaeger into $(GOBIN) (a few minutes)"; \
		cd tools/jaeger && $(GO) build -o $(GOBIN)/jaeger github.com/jaegertracing/jaeger/cmd/jaeger; }

deps: ffmpeg

## sample: generate a 10-second 720p sample with audio
sample: ffmpeg
	@mkdir -p samples
	@test -f samples/sample.mp4 || ffmpeg -nostdin -hide_banner -loglevel error -y \
		-f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
		-f lavfi -i sine=frequency=440:duration=10 \
		-c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p -c:a aac -shortest samples/sample.mp4

## run: install what is missing, build, and transcode the sample on the local backend
run: deps build sample
	$(BIN) transcode --height 480 samples/sample.mp4 samples/sample-out.mp4
	$(BIN) probe samples/sample-out.mp4

## test: run every test (installs ffmpeg, the pinned tools and the browser first)
test: deps tools browser
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 45m ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }

clean:
	rm -rf bin samples

.PHONY: lambda-local
## lambda-local: run the Lambda backend on this machine: S3 (versitygw) and N=2
## Lambda emulators on 127.0.0.1 running bin/chunkcode; prints the env and flags
lambda-local: tools build
	./scripts/lambda-local.sh
