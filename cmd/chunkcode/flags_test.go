package main

import (
	"io"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/benchmarks"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseFlags runs the command newCommand makes with args in process, with a
// runF that keeps the options instead of running anything, and returns them
// with the error Execute returned.
func parseFlags[O any](t *testing.T, newCommand func(*deps, func(*O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	var got *O
	cmd := newCommand(&deps{stdout: io.Discard, stderr: io.Discard}, func(o *O) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if err == nil {
		require.NotNil(t, got, "runF was called")
	}
	return got, err
}

func TestTranscodeFlags(t *testing.T) {
	t.Parallel()
	defaults := transcodeOptions{
		encodeOptions: encodeOptions{crf: -1},
		ladderOptions: ladderOptions{ladder: "auto"},
		backendOptions: backendOptions{
			name:   transcode.LocalBackend,
			lambda: lambdaOptions{prefix: lambda.DefaultPrefix},
		},
		retries: transcode.DefaultRetries,
		input:   "in.mov", output: "out.mp4",
	}
	for _, tc := range []struct {
		name     string
		args     []string
		operands bool                      // args hold INPUT and OUTPUT; else in.mov out.mp4 follow
		want     func(o *transcodeOptions) // changes from defaults
	}{
		{"defaults", nil, false, func(o *transcodeOptions) {}},
		{"codec and quality", []string{"--codec", "vp9", "--crf", "0", "--preset", "4"}, false, func(o *transcodeOptions) {
			o.codec, o.crf, o.preset = "vp9", 0, "4"
		}},
		{"height", []string{"--height", "720"}, false, func(o *transcodeOptions) { o.height = 720 }},
		{"audio", []string{"--audio-codec", "opus", "--audio-bitrate", "96k"}, false, func(o *transcodeOptions) {
			o.audioCodec, o.audioBitrate = "opus", "96k"
		}},
		{"segment duration", []string{"--segment-duration", "2.5"}, false, func(o *transcodeOptions) { o.segmentDuration = "2.5" }},
		{"ladder", []string{"--ladder", "720x3000,360", "--segment-length", "4", "--manifests", "hls,dash"}, false, func(o *transcodeOptions) {
			o.ladder, o.segmentLength, o.manifests = "720x3000,360", "4", "hls,dash"
			o.ladderOptions.set = []string{"ladder", "segment-length", "manifests"}
		}},
		{"s3 ladder", []string{"--cache-control", "max-age=60", "--lambda-rungs", "split"}, false, func(o *transcodeOptions) {
			o.cacheControl, o.lambdaRungs = "max-age=60", "split"
			o.ladderS3Options.set = []string{"cache-control", "lambda-rungs"}
		}},
		{"lambda backend", []string{
			"--backend", "lambda", "--function", "fn", "--bucket", "media", "--prefix", "runs/", "--region", "eu-west-1",
			"--s3-endpoint", "http://s3.test", "--lambda-endpoint", "http://a.test,http://b.test", "--lambda-endpoint", "http://c.test",
			"--memory", "2048", "--lambda-arch", "x86_64",
		}, false, func(o *transcodeOptions) {
			o.name = transcode.LambdaBackend
			o.lambda = lambdaOptions{
				function: "fn", bucket: "media", prefix: "runs/", region: "eu-west-1", s3Endpoint: "http://s3.test",
				endpoints: []string{"http://a.test", "http://b.test", "http://c.test"}, memory: 2048, arch: "x86_64",
			}
			o.lambdaSet = []string{"function", "bucket", "prefix", "region", "s3-endpoint", "lambda-endpoint", "memory", "lambda-arch"}
		}},
		{"run", []string{"-w", "3", "--threads", "2", "--work-dir", "w", "--resume", "--keep", "--retries", "0",
			"--json", "--no-progress", "--allow-playlists", "-n"}, false, func(o *transcodeOptions) {
			o.workers, o.threads, o.workDir, o.resume, o.keep, o.retries = 3, 2, "w", true, true, 0
			o.json, o.noProgress, o.playlists, o.noClobber = true, true, true, true
		}},
		{"observe", []string{"--trace", "t.json", "--timeline", "t.svg", "--log-format", "json"}, false, func(o *transcodeOptions) {
			o.trace, o.timeline, o.logFormat = "t.json", "t.svg", "json"
		}},
		{"arguments that look like flags", []string{"--", "-in.mov", "-out.mp4"}, true, func(o *transcodeOptions) {
			o.input, o.output = "-in.mov", "-out.mp4"
		}},
		{"flags after the arguments", []string{"in.mov", "out.mp4", "--height", "1080"}, true, func(o *transcodeOptions) {
			o.height = 1080
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			if !tc.operands {
				args = append(args, "in.mov", "out.mp4")
			}
			got, err := parseFlags(t, newTranscodeCommand, args...)
			require.NoError(t, err)
			want := defaults
			tc.want(&want)
			assert.Equal(t, &want, got)
		})
	}
}

func TestTranscodeFlagsProfile(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newTranscodeCommand, "--codec", "H265", "--crf", "20", "--height", "480",
		"--audio-codec", "AAC", "--audio-bitrate", "128k", "--segment-duration", "1m30s", "in.mov", "out.mkv")
	require.NoError(t, err)
	prof, segDur, err := o.profile()
	require.NoError(t, err)
	assert.Equal(t, transcode.CRF(20), prof.CRF)
	assert.Equal(t, 480, prof.Height)
	assert.EqualValues(t, "aac", prof.AudioCodec)
	assert.Equal(t, "128k", prof.AudioBitrate)
	assert.Equal(t, 90*time.Second, segDur)

	o, err = parseFlags(t, newTranscodeCommand, "in.mov", "out.mkv")
	require.NoError(t, err)
	prof, segDur, err = o.profile()
	require.NoError(t, err)
	assert.Nil(t, prof.CRF, "no --crf leaves the codec's default")
	assert.Zero(t, segDur, "no --segment-duration is automatic")
}

func TestTranscodeFlagErrors(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"negative crf":    {"--crf=-1", "in.mov", "out.mp4"},
		"crf not integer": {"--crf", "high", "in.mov", "out.mp4"},
		"height text":     {"--height", "tall", "in.mov", "out.mp4"},
		"one argument":    {"in.mov"},
		"unknown flag":    {"--bitrate", "1M", "in.mov", "out.mp4"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parseFlags(t, newTranscodeCommand, args...)
			assert.Error(t, err)
		})
	}
}

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	defaults := benchOptions{
		encodeOptions:      encodeOptions{crf: -1},
		lambda:             lambdaOptions{prefix: lambda.DefaultPrefix},
		backends:           benchmarks.Backends,
		runs:               benchmarks.DefaultRuns,
		warmup:             1,
		retries:            transcode.DefaultRetries,
		scale:              1,
		invocationOverhead: benchmarks.DefaultInvocationOverhead,
		stagingMBps:        benchmarks.DefaultStagingThroughput / 1e6,
		baselineEnv:        benchmarks.BaselineTuned,
		args:               []string{"a.mp4"},
	}
	for _, tc := range []struct {
		name string
		args []string
		want func(o *benchOptions) // changes from defaults
	}{
		{"defaults", nil, func(o *benchOptions) {}},
		{"encode", []string{"--codec", "av1", "--crf", "30", "--height", "360", "--audio-codec", "flac",
			"--audio-bitrate", "64k", "--segment-duration", "4s"}, func(o *benchOptions) {
			o.codec, o.crf, o.height, o.audioCodec, o.audioBitrate, o.segmentDuration = "av1", 30, 360, "flac", "64k", "4s"
		}},
		{"lambda", []string{"--function", "fn", "--bucket", "media", "--prefix", "p/", "--region", "us-east-2",
			"--s3-endpoint", "http://s3.test", "--lambda-endpoint", "http://a.test", "--memory", "1769", "--lambda-arch", "arm64",
			"--lambda-workers", "50", "--lambda-threads", "2"}, func(o *benchOptions) {
			o.lambda = lambdaOptions{
				function: "fn", bucket: "media", prefix: "p/", region: "us-east-2", s3Endpoint: "http://s3.test",
				endpoints: []string{"http://a.test"}, memory: 1769, arch: "arm64",
			}
			o.lambdaWorkers, o.lambdaThreads = 50, 2
		}},
		{"sweep", []string{"--backends", "ffmpeg,local", "-w", "1,2", "-w", "4", "--runs", "5", "--warmup", "0",
			"--retries", "1"}, func(o *benchOptions) {
			o.backends, o.workers, o.runs, o.warmup, o.retries = []string{"ffmpeg", "local"}, []int{1, 2, 4}, 5, 0, 1
			o.backendsSet = true
		}},
		{"ladder", []string{"--ladder", "720,480", "--segment-length", "4s"}, func(o *benchOptions) {
			o.ladder, o.segmentLength = "720,480", "4s"
		}},
		{"report", []string{"--json", "--chart", "c.svg", "--out-dir", "out", "--no-ssim", "-q"}, func(o *benchOptions) {
			o.json, o.chart, o.outDir, o.noSSIM, o.quiet = true, "c.svg", "out", true, true
		}},
		{"csv", []string{"--csv"}, func(o *benchOptions) { o.csv = true }},
		{"plain baseline", []string{"--baseline-env", "plain"}, func(o *benchOptions) { o.baselineEnv = benchmarks.BaselinePlain }},
		{"seed", []string{"--profile", "seed", "--scale", "0.02", "--fixtures", "fx"}, func(o *benchOptions) {
			o.inputs, o.scale, o.scaleSet, o.fixtures = "seed", 0.02, true, "fx"
		}},
		{"projection", []string{"--project-concurrency", "100,1000", "--invocation-overhead", "250ms",
			"--staging-throughput", "80"}, func(o *benchOptions) {
			o.projectConcurrency, o.invocationOverhead, o.stagingMBps = []int{100, 1000}, 250*time.Millisecond, 80
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseFlags(t, newBenchCommand, append(tc.args, "a.mp4")...)
			require.NoError(t, err)
			want := defaults
			tc.want(&want)
			assert.Equal(t, &want, got)
		})
	}
	t.Run("no backend flag", func(t *testing.T) {
		t.Parallel()
		_, err := parseFlags(t, newBenchCommand, "--backend", "lambda", "a.mp4")
		assert.ErrorContains(t, err, "unknown flag: --backend", "bench has --backends")
	})
}
