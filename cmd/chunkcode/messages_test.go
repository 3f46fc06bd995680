package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests cover what chunkcode says when it is called wrongly or
// fails: one line that names the flag or the file, and the exit code.

// TestFlagValueErrors checks that a flag value of the wrong kind is a usage
// error naming the flag and quoting the value as typed, with none of Go's
// parser messages, for every number and duration flag.
func TestFlagValueErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"transcode", "--height", "720p"}, `--height: "720p" is not a whole number`},
		{[]string{"transcode", "--crf", "high"}, `--crf: "high" is not a whole number`},
		{[]string{"transcode", "--crf=-1"}, `--crf: "-1" is not a whole number from 0 up`},
		{[]string{"transcode", "-w", "two"}, `--workers: "two" is not a whole number`},
		{[]string{"transcode", "--threads", "1.5"}, `--threads: "1.5" is not a whole number`},
		{[]string{"transcode", "--retries", "x"}, `--retries: "x" is not a whole number`},
		{[]string{"transcode", "--memory", "1G"}, `--memory: "1G" is not a whole number`},
		{[]string{"transcode", "--retries", "-1"}, `--retries must not be negative`},
		{[]string{"transcode", "--workers", "-1"}, `--workers must not be negative`},
		{[]string{"transcode", "--segment-duration", "NaN"}, `--segment-duration: "NaN" is not a duration (for example 10s)`},
		{[]string{"transcode", "--segment-duration", "-5"}, `--segment-duration: "-5" must be positive`},
		{[]string{"transcode", "--segment-duration", "0.0"}, `--segment-duration: "0.0" must be positive`},
		{[]string{"transcode", "--codec", "h266"}, `--codec: unknown codec "h266" (want h264, h265, vp9 or av1)`},
		{[]string{"probe", "--workers", "2x"}, `--workers: "2x" is not a whole number`},
		{[]string{"probe", "--segment-duration", "soon"}, `--segment-duration: "soon" is not a duration (for example 10s)`},
		{[]string{"bench", "--runs", "x"}, `--runs: "x" is not a whole number`},
		{[]string{"bench", "--warmup", "x"}, `--warmup: "x" is not a whole number`},
		{[]string{"bench", "-w", "1,x"}, `--workers: "1,x" is not a list of whole numbers (for example 1,2,4)`},
		{[]string{"bench", "--project-concurrency", "many"}, `--project-concurrency: "many" is not a list of whole numbers (for example 1,2,4)`},
		{[]string{"bench", "--lambda-workers", "x"}, `--lambda-workers: "x" is not a whole number`},
		{[]string{"bench", "--lambda-threads", "x"}, `--lambda-threads: "x" is not a whole number`},
		{[]string{"bench", "--scale", "half"}, `--scale: "half" is not a number`},
		{[]string{"bench", "--staging-throughput", "fast"}, `--staging-throughput: "fast" is not a number`},
		{[]string{"bench", "--invocation-overhead", "250"}, `--invocation-overhead: "250" is not a duration (for example 250ms or 2s)`},
		{[]string{"bench", "--audio-bitrate", "fast"}, `--audio-bitrate: "fast" is not a bitrate in kbit/s (for example 128 or 128k)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "in.mp4")
			if tc.args[0] == "transcode" {
				args = append(args, "out.mp4")
			}
			r := chunkcode(t, nil, args...)
			assert.Equal(t, 2, r.code, "exit code; stderr: %s", r.stderr)
			assert.Equal(t, []string{"chunkcode: " + tc.want}, r.stderrLines())
			assert.NotContains(t, r.stderr, "strconv")
		})
	}
}

// TestOperandsAndFlagNames checks the messages for missing operands and
// misspelt flags.
func TestOperandsAndFlagNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"transcode"}, []string{
			"chunkcode: usage: chunkcode transcode INPUT OUTPUT",
			"example: chunkcode transcode in.mov out.mp4",
		}},
		{[]string{"transcode", "in.mp4"}, []string{
			"chunkcode: usage: chunkcode transcode INPUT OUTPUT (got 1 argument)",
			"example: chunkcode transcode in.mov out.mp4",
		}},
		{[]string{"probe"}, []string{"chunkcode: usage: chunkcode probe INPUT [OUTPUT]", "example: chunkcode probe in.mov"}},
		{[]string{"transcode", "--crfx", "20", "in.mp4", "out.mp4"}, []string{"chunkcode: unknown flag --crfx; did you mean --crf?"}},
		{[]string{"transcode", "--segment-duraton", "2", "in.mp4", "out.mp4"}, []string{"chunkcode: unknown flag --segment-duraton; did you mean --segment-duration?"}},
		{[]string{"transcode", "--frobnicate", "in.mp4", "out.mp4"}, []string{"chunkcode: unknown flag --frobnicate"}},
		{[]string{"transcod", "in.mp4", "out.mp4"}, []string{`chunkcode: unknown command "transcod"; did you mean transcode?`}},
		{[]string{"frobnicate"}, []string{`chunkcode: unknown command "frobnicate"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, tc.args...)
			assert.Equal(t, 2, r.code, "exit code; stderr: %s", r.stderr)
			assert.Equal(t, tc.want, r.stderrLines())
			assert.Empty(t, r.stdout)
		})
	}
}

// TestLambdaFlagsNeedLambda checks that every Lambda flag is a usage error
// on the local backend, found before any file is read.
func TestLambdaFlagsNeedLambda(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--bucket", "b"}, {"--function", "f"}, {"--prefix", "p/"}, {"--region", "eu-west-1"},
		{"--s3-endpoint", "http://127.0.0.1:1"}, {"--lambda-endpoint", "http://127.0.0.1:1"},
		{"--memory", "1024"}, {"--lambda-arch", "arm64"}, {"--backend", "local", "--bucket", "b"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			flag := args[len(args)-2]
			r := chunkcode(t, nil, append(append([]string{"transcode"}, args...), "missing.mp4", "out.mp4")...)
			oneErrorLine(t, r, 2)
			assert.Equal(t, []string{"chunkcode: " + flag + " needs --backend lambda"}, r.stderrLines())
		})
	}
}

// TestNoClobber checks that -n refuses an existing OUTPUT before any work,
// and that without it OUTPUT is replaced.
func TestNoClobber(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	notVideo := filepath.Join(dir, "in.mp4") // probing it would fail: it is not probed
	fixture.WriteFile(t, notVideo, "not a video\n")
	out := filepath.Join(dir, "out.mp4")
	fixture.WriteFile(t, out, "keep me\n")
	work := filepath.Join(dir, "work")
	for _, flag := range []string{"-n", "--no-clobber"} {
		r := chunkcode(t, nil, "transcode", flag, "--work-dir", work, notVideo, out)
		assert.Equal(t, 1, r.code, "exit code; stderr: %s", r.stderr)
		assert.Equal(t, []string{"chunkcode: " + out + ": already exists; --no-clobber keeps it"}, r.stderrLines())
		assert.NoDirExists(t, work, "no work before the refusal")
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, "keep me\n", string(got))
		left, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, left, 2, "nothing written beside OUTPUT")
	}

	in := fixture.Video(t, fixture.Spec{})
	r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), in, out)...)
	require.Equal(t, 0, r.code, "without -n OUTPUT is replaced: %s", r.stderr)
	assert.Equal(t, 50, fixture.Frames(t, out))
}

// TestNotSeekable checks that standard input and output, pipes and devices
// are refused in one line, and that nothing is created in /dev.
func TestNotSeekable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	fixture.WriteFile(t, in, "never read\n")
	fifo := filepath.Join(dir, "fifo.mp4")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	out := filepath.Join(dir, "out.mp4")
	devBefore, err := os.ReadDir("/dev")
	require.NoError(t, err)
	for _, tc := range []struct {
		in, out string
		code    int
		want    string
	}{
		{"-", out, 2, "INPUT -: chunked encoding needs a seekable file, not standard input"},
		{in, "-", 2, "OUTPUT -: chunked encoding needs a seekable file, not standard output"},
		{"/dev/stdin", out, 2, "/dev/stdin: chunked encoding needs a seekable file, not a file descriptor"},
		{in, "/dev/stdout", 2, "/dev/stdout: chunked encoding needs a seekable file, not a file descriptor"},
		{in, "/dev/fd/1", 2, "/dev/fd/1: chunked encoding needs a seekable file, not a file descriptor"},
		{fifo, out, 1, fifo + ": chunked encoding needs a seekable file, not a named pipe"},
		{"/dev/zero", out, 1, "/dev/zero: chunked encoding needs a seekable file, not a character device"},
		{in, "/dev/null", 1, "/dev/null: chunked encoding needs a seekable file, not a character device"},
		{in, "/dev/chunkcode-test.mp4", 1, "/dev/chunkcode-test.mp4: chunked encoding needs a seekable file; /dev holds devices"},
	} {
		r := chunkcode(t, nil, "transcode", "--", tc.in, tc.out)
		oneErrorLine(t, r, tc.code)
		assert.Equal(t, []string{"chunkcode: " + tc.want}, r.stderrLines(), "transcode %s %s", tc.in, tc.out)
	}
	devAfter, err := os.ReadDir("/dev")
	require.NoError(t, err)
	assert.Equal(t, len(devBefore), len(devAfter), "files created in /dev")
	assert.NoFileExists(t, out)
}

// TestCodecFollowsContainer checks that a .webm OUTPUT without --codec is
// encoded in vp9, and that a codec the container cannot hold is refused
// with one it can.
func TestCodecFollowsContainer(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.webm")
	// --preset 8 is a vp9 preset: with h264 it would be a usage error.
	r := chunkcode(t, nil, "transcode", "--no-progress", "--preset", "8", "--segment-duration", "0.5", in, out)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, "vp9", fixture.Inspect(t, out).Video(t).Codec)

	for _, tc := range []struct{ codec, out, use string }{
		{"h264", "out.webm", "vp9 or av1"},
		{"vp9", "out.mov", "h264 or h265"},
	} {
		r := chunkcode(t, nil, "transcode", "--codec", tc.codec, in, filepath.Join(dir, tc.out))
		oneErrorLine(t, r, 2)
		assert.Equal(t, []string{"chunkcode: " + filepath.Join(dir, tc.out) + " cannot hold " + tc.codec + " video; use --codec " + tc.use}, r.stderrLines())
	}
}

// TestAudioBitrate checks that a bare --audio-bitrate is in kbit/s.
func TestAudioBitrate(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 3 * time.Second, Audio: 1})
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--audio-bitrate", "128", in, out)...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	rate, err := strconv.Atoi(strings.TrimSpace(string(fixture.FFprobe(t, "-select_streams", "a:0",
		"-show_entries", "stream=bit_rate", "-of", "csv=p=0", out))))
	require.NoError(t, err)
	assert.InDelta(t, 128_000, rate, 32_000, "audio bit rate in bit/s")

	r = chunkcode(t, nil, "transcode", "--audio-bitrate", "96000", in, out)
	oneErrorLine(t, r, 2)
	assert.Equal(t, []string{`chunkcode: --audio-bitrate: "96000" kbit/s is too high (at most 1536; the value is in kbit/s)`}, r.stderrLines())
}

func TestParseAudioBitrate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "128": "128k", "128k": "128k", "96K": "96k", "1536": "1536k"} {
		got, err := parseAudioBitrate(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "-64", "1537", "96000", "128kb", "1.5M", "abc"} {
		_, err := parseAudioBitrate(in)
		assert.Error(t, err, in)
	}
}

// TestJSONFailure checks that --json prints one JSON object on stdout for a
// failure, while stderr keeps the one-line message.
func TestJSONFailure(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	text := filepath.Join(dir, "text.mp4")
	fixture.WriteFile(t, text, "this is not a video\n")
	for _, tc := range []struct {
		name string
		args []string
		kind string
		code int
	}{
		{"usage", []string{"transcode", "--json", "--height", "720p", text, "out.mp4"}, "usage", 2},
		{"usage before --json", []string{"transcode", "--height", "720p", "--json", text, "out.mp4"}, "usage", 2},
		{"input", []string{"transcode", "--json", text, filepath.Join(dir, "out.mp4")}, "input", 1},
		{"probe input", []string{"probe", "--json", filepath.Join(dir, "missing.mp4")}, "input", 1},
		{"failure", []string{"transcode", "--json", text, filepath.Join(dir, "no", "out.mp4")}, "failure", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, tc.args...)
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			lines := r.stderrLines()
			require.Len(t, lines, 1, r.stderr)
			got := decodeOne(t, r.stdout)
			assert.Equal(t, map[string]any{
				"error": strings.TrimPrefix(lines[0], "chunkcode: "), "kind": tc.kind, "exit_code": float64(tc.code),
			}, got)
		})
	}
	r := chunkcode(t, nil, "transcode", "--height", "720p", text, "out.mp4")
	assert.Empty(t, r.stdout, "no JSON without --json")
}

// TestLambdaCredentials checks that missing AWS credentials are one line
// naming where chunkcode looked, with none of the SDK's own log lines, also
// when the instance metadata service answers as outside EC2.
func TestLambdaCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	fixture.WriteFile(t, in, "never read\n")
	// Outside EC2 an IMDS may refuse tokens, which makes the SDK fall back
	// to IMDSv1 and log a warning, then find no role.
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	t.Cleanup(imds.Close)
	home := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		imds string
	}{
		{"metadata disabled", []string{"AWS_EC2_METADATA_DISABLED=true"}, " (disabled by AWS_EC2_METADATA_DISABLED)"},
		{"metadata without a role", []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := append(withoutAWS(os.Environ()), "HOME="+home)
			r := chunkcodeEnv(t, append(env, tc.env...), "transcode", "--backend", "lambda", "--bucket", "b",
				"--region", "us-east-1", "--s3-endpoint", "http://127.0.0.1:1", "--lambda-endpoint", "http://127.0.0.1:1",
				in, filepath.Join(dir, "out.mp4"))
			assert.Equal(t, 1, r.code, "stderr: %s", r.stderr)
			assert.Equal(t, []string{"chunkcode: no AWS credentials found: tried AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profile default in " +
				home + "/.aws/credentials and " + home + "/.aws/config, and the EC2 instance role" + tc.imds}, r.stderrLines())
			assert.NotContains(t, r.stderr, "SDK")
		})
	}
}

// withoutAWS returns env without its AWS_ variables.
func withoutAWS(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// TestLambdaErrorThenWarning runs the Lambda backend against an S3
// endpoint where nothing listens: staging fails, and so does the clean-up
// after it. The error prints first, the clean-up's warning after it.
func TestLambdaErrorThenWarning(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	env := append(withoutAWS(os.Environ()), "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	r := chunkcodeEnv(t, env, "transcode", "--no-progress", "--backend", "lambda", "--bucket", "b", "--region", "us-east-1",
		"--s3-endpoint", "http://127.0.0.1:1", "--lambda-endpoint", "http://127.0.0.1:1", in, filepath.Join(t.TempDir(), "out.mp4"))
	assert.Equal(t, 1, r.code, "stderr: %s", r.stderr)
	lines := r.stderrLines()
	require.Len(t, lines, 3, "the plan, the error, the warning: %s", r.stderr)
	assert.Regexp(t, `^chunkcode: stage .*: operation error S3: PutObject`, lines[1])
	assert.Regexp(t, `^chunkcode: warning: lambda backend: clean up: `, lines[2])
}

// TestWarningsAfterError checks that the warnings a failed run gives last,
// such as those of its clean-up, print after its error.
func TestWarningsAfterError(t *testing.T) {
	t.Parallel()
	var seen []transcode.Event
	h := &holdWarnings{next: func(e transcode.Event) { seen = append(seen, e) }}
	early, late := errors.New("resume: encoding all again"), errors.New("lambda backend: clean up: access denied")
	h.event(transcode.Event{Kind: transcode.EventWarning, Err: early})
	h.event(transcode.Event{Kind: transcode.EventSegment})
	h.event(transcode.Event{Kind: transcode.EventWarning, Err: late})
	require.Len(t, seen, 2)
	assert.Equal(t, early, seen[0].Err, "a warning prints at the next event")
	assert.Equal(t, []error{late}, h.held, "the last is held")

	var w bytes.Buffer
	report(&w, &warnedError{err: errors.New("segment 3: invoke: throttled"), warnings: h.held}, exitFailure)
	assert.Equal(t, "chunkcode: segment 3: invoke: throttled\nchunkcode: warning: lambda backend: clean up: access denied\n", w.String())
}

// TestPlurals checks the counts of one in the progress and summary lines.
func TestPlurals(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := chunkcode(t, nil, "transcode", "--no-progress", "--preset", "ultrafast", "--workers", "1", "--segment-duration", "10", in, out)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, ": 25 frames, 1.0s, 1 segment (1 on keyframes), 1 worker on local\n")
	assert.Contains(t, r.stderr, "segment 1/1 done: 25 frames in ")
	assert.Contains(t, r.stderr, out+": 25 frames in 1 segment, ")
}

// TestVersionFlag checks that --version prints what version prints.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	v := chunkcode(t, nil, "version")
	for _, flag := range []string{"--version", "-v"} {
		r := chunkcode(t, nil, flag)
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, v.stdout, r.stdout, flag)
	}
}

// TestCompletion checks that the shell completes the values of the flags
// that take a name from a fixed list, through cobra's __complete command.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"transcode", "--codec", ""}, []string{"h264", "h265", "vp9", "av1"}},
		{[]string{"transcode", "--backend", ""}, []string{"local", "lambda"}},
		{[]string{"transcode", "--audio-codec", ""}, []string{"aac", "opus", "mp3", "ac3", "flac", "vorbis", "copy"}},
		{[]string{"transcode", "--lambda-arch", ""}, []string{"arm64", "x86_64"}},
		{[]string{"transcode", "--preset", ""}, []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}},
		{[]string{"transcode", "--codec", "vp9", "--preset", ""}, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}},
		{[]string{"transcode", "in.mp4", "out.webm", "--preset", ""}, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}},
		{[]string{"bench", "--codec", ""}, []string{"h264", "h265", "vp9", "av1"}},
		{[]string{"bench", "--lambda-arch", ""}, []string{"arm64", "x86_64"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, append([]string{"__complete"}, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			assert.Equal(t, append(tc.want, ":4"), lines, "values, then the no-file directive")
		})
	}
}
