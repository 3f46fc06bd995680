package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	lambdatest.Cleanup()
	os.Exit(code)
}

// request is a transcode of in cut into half-second segments, with a fast
// preset and one thread per encode: two emulators share two cores.
func request(in, out string) transcode.Request {
	return transcode.Request{
		Input: in, Output: out,
		Profile:         transcode.Profile{Codec: media.H264, Preset: "ultrafast", Threads: 1},
		Workers:         2,
		SegmentDuration: 500 * time.Millisecond,
		Retries:         transcode.DefaultRetries,
	}
}

// newBackend is a Lambda backend on the emulators and the S3 server.
func newBackend(t *testing.T, s3 *lambdatest.S3, fns *lambdatest.Functions, edits ...func(*lambda.Options)) *lambda.Backend {
	t.Helper()
	// A prefix of its own, so that staged sees this backend's objects
	// only, whatever other tests share the bucket.
	opts := lambda.Options{
		Bucket: s3.Bucket, Endpoints: fns.Endpoints, S3Endpoint: s3.Endpoint, MemoryMB: 1024, Arch: "arm64",
		Prefix: fmt.Sprintf("test-%d/", backendSeq.Add(1)),
	}
	for _, edit := range edits {
		edit(&opts)
	}
	b, err := lambda.New(s3.Config(), opts)
	require.NoError(t, err)
	return b
}

// run transcodes on b and collects the errors of retried attempts.
func run(t *testing.T, b transcode.Backend, req transcode.Request) (*transcode.Summary, []error, error) {
	t.Helper()
	var mu sync.Mutex
	var retries []error
	p := &transcode.Pipeline{Backend: b, Notify: func(e transcode.Event) {
		if e.Kind == transcode.EventRetry {
			mu.Lock()
			retries = append(retries, e.Err)
			mu.Unlock()
		}
	}}
	sum, err := p.Run(context.Background(), req)
	return sum, retries, err
}

var backendSeq atomic.Int64

// staged lists the objects left under b's prefix.
func staged(t *testing.T, s3 *lambdatest.S3, b *lambda.Backend) []string {
	t.Helper()
	var left []string
	for _, k := range s3.Keys(t) {
		if strings.HasPrefix(k, b.Prefix()) {
			left = append(left, k)
		}
	}
	return left
}

func TestEmulators(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s3 := lambdatest.StartS3(t)
	lambdatest.Chunkcode(t) // build once, before the subtests start emulators
	dir := t.TempDir()
	in := fixture.Video(t, fixture.Spec{Name: "in.mp4", Dir: dir, Duration: 3 * time.Second, Audio: 1, SyncMark: time.Second})
	frames := fixture.Frames(t, in)

	t.Run("group", func(t *testing.T) {
		t.Run("transcodes frame-exact with audio in sync on every emulator", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2})
			// The small clip is staged in pieces, as a large one is.
			b := newBackend(t, s3, fns, func(o *lambda.Options) { o.PiecesAbove = -1 })
			out := filepath.Join(t.TempDir(), "out.mp4")
			sum, retries, err := run(t, b, request(in, out))
			require.NoError(t, err, fns.Logs())
			assert.Empty(t, retries)

			assert.Equal(t, frames, fixture.Frames(t, out), "output frames")
			assert.Equal(t, frames, sum.Frames)
			fixture.SamePictures(t, fixture.Luma(t, in, 160, 120), fixture.Luma(t, out, 160, 120))
			sv, sa := fixture.Onsets(t, in)
			ov, oa := fixture.Onsets(t, out)
			assert.InDelta(t, sa-sv, oa-ov, 0.005, "audio minus video onset: source %.4fs, output %.4fs", sa-sv, oa-ov)

			assert.Equal(t, transcode.LambdaBackend, sum.Backend)
			assert.GreaterOrEqual(t, sum.Segments, 4, "the clip is cut several times")
			for i, n := range fns.Invocations() {
				assert.Positive(t, n, "emulator %d was never invoked", i)
			}
			st := b.Stats()
			assert.Len(t, st.Invocations, 2)
			// Each segment's range is staged as a piece of its own, and
			// the first encodes run while later pieces are still staged.
			assert.Equal(t, sum.Segments, st.Pieces, "pieces staged")
			assert.Positive(t, st.StagingOverlap, "no encode ran while pieces were staged")
			fi, err := os.Stat(in)
			require.NoError(t, err)
			assert.Less(t, st.UploadBytes, 2*fi.Size(), "pieces hold their ranges, not the whole source each")
			assert.Contains(t, st.FFmpeg, "ffmpeg version")
			require.Len(t, sum.Results, sum.Segments)
			for _, r := range sum.Results {
				assert.Positive(t, r.Remote.BilledSeconds, "segment %d billed time", r.Index)
				assert.Positive(t, r.Remote.GBSeconds, "segment %d GB-seconds", r.Index)
			}
			assert.Positive(t, sum.Remote.USD, "the summary adds up the cost")
			assert.Empty(t, staged(t, s3, b), "staging objects left")
		})

		t.Run("retries a function that errors once", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1, Env: []string{lambda.EnvTestFault + "=error-once"}})
			b := newBackend(t, s3, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			sum, retries, err := run(t, b, request(in, out))
			require.NoError(t, err, fns.Logs())
			assert.Equal(t, frames, fixture.Frames(t, out))
			assert.Equal(t, 1, sum.Retries)
			require.Len(t, retries, 1)
			var fe *lambda.FunctionError
			require.ErrorAs(t, retries[0], &fe)
			assert.Equal(t, lambda.KindFault, fe.Kind)
			assert.Empty(t, staged(t, s3, b), "staging objects left")
		})

		t.Run("fails clearly when the function always errors", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1, Env: []string{lambda.EnvTestFault + "=error"}})
			b := newBackend(t, s3, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			req := request(in, out)
			req.Retries = 1
			_, _, err := run(t, b, req)
			require.Error(t, err)
			assert.ErrorIs(t, err, lambda.ErrFunction)
			assert.Regexp(t, `segment \d+ \(frames \d+-\d+\) failed after 2 attempts: .*function error \(InjectedFault\) \(request ID [0-9a-f-]+\): injected error`, err.Error())
			assert.NoFileExists(t, out)
			entries, _ := os.ReadDir(filepath.Dir(out))
			assert.Empty(t, entries, "nothing is left beside the output")
			assert.Empty(t, staged(t, s3, b), "staging objects left")
		})

		t.Run("does not retry a job above the function's limits", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1})
			b := newBackend(t, s3, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			req := request(in, out)
			req.Workers = 1
			req.Profile.Threads = lambda.MaxJobThreads + 1
			_, retries, err := run(t, b, req)
			require.Error(t, err)
			assert.Empty(t, retries)
			assert.ErrorIs(t, err, transcode.ErrPermanent)
			var fe *lambda.FunctionError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, lambda.KindLimit, fe.Kind)
			assert.Regexp(t, `segment \d+ \(frames \d+-\d+\) failed and is not retried: .*threads 17 above the function's limit of 16`, err.Error())
			assert.Equal(t, []int{1}, fns.Invocations(), "one invocation, not retried")
			assert.NoFileExists(t, out)
			assert.Empty(t, staged(t, s3, b), "staging objects left")
		})

		t.Run("retries a segment whose function timed out", func(t *testing.T) {
			t.Parallel()
			// The timeout leaves a retry of the small segment room to
			// finish on a busy machine; the first attempt hangs through it.
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{
				N: 1, Timeout: 6 * time.Second, Env: []string{lambda.EnvTestFault + "=hang-once"},
			})
			b := newBackend(t, s3, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			_, retries, err := run(t, b, request(in, out))
			require.NoError(t, err, fns.Logs())
			assert.Equal(t, frames, fixture.Frames(t, out))
			require.NotEmpty(t, retries)
			var fe *lambda.FunctionError
			require.ErrorAs(t, retries[0], &fe)
			assert.Equal(t, lambda.KindTimeout, fe.Kind)
			assert.Contains(t, fe.Message, "Task timed out")
			assert.Empty(t, staged(t, s3, b), "staging objects left")
		})

		t.Run("a warm function removes what a stopped invocation left in its /tmp", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1, Env: []string{"AWS_LAMBDA_FUNCTION_NAME=chunkcode"}})
			// What an invocation stopped at its timeout leaves: its job
			// directory, with a partial segment.
			jobs := lambda.JobsDir(fns.TempDirs[0], "chunkcode")
			stale := filepath.Join(jobs, "segment-1234")
			require.NoError(t, os.MkdirAll(stale, 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(stale, "segment.mp4"), make([]byte, 1<<20), 0o644))
			b := newBackend(t, s3, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			_, _, err := run(t, b, request(in, out))
			require.NoError(t, err, fns.Logs())
			assert.NoDirExists(t, stale, "the stale job directory")
			entries, err := os.ReadDir(jobs)
			require.NoError(t, err)
			assert.Empty(t, entries, "job directories left after the run")
		})

		t.Run("retries a segment whose function crashed", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1, Env: []string{lambda.EnvTestFault + "=crash-once"}})
			b := newBackend(t, s3, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			_, retries, err := run(t, b, request(in, out))
			require.NoError(t, err, fns.Logs())
			assert.Equal(t, frames, fixture.Frames(t, out))
			require.Len(t, retries, 1)
			var fe *lambda.FunctionError
			require.ErrorAs(t, retries[0], &fe)
			assert.Equal(t, lambda.KindCrash, fe.Kind)
		})

		t.Run("fails clearly when S3 is down", func(t *testing.T) {
			t.Parallel()
			down := lambdatest.StartS3(t)
			down.Stop(t)
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1})
			b := newBackend(t, down, fns)
			out := filepath.Join(t.TempDir(), "out.mp4")
			start := time.Now()
			_, _, err := run(t, b, request(in, out))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "stage "+in+" to s3://"+down.Bucket+"/"+b.Prefix())
			assert.Contains(t, err.Error(), "connection refused")
			assert.Less(t, time.Since(start), 30*time.Second)
			assert.NoFileExists(t, out)
			assert.Equal(t, []int{0}, fns.Invocations(), "nothing is invoked without the source in S3")
		})

		t.Run("the CLI transcodes on emulators to an s3:// OUTPUT", func(t *testing.T) {
			t.Parallel()
			fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2})
			out := filepath.Join(t.TempDir(), "out.mp4")
			args := []string{"transcode", "--backend", "lambda", "--bucket", s3.Bucket, "--prefix", "cli/",
				"--memory", "2048", "--threads", "1", "--segment-duration", "1", "--json", "--no-progress"}
			for _, e := range fns.Endpoints {
				args = append(args, "--lambda-endpoint", e)
			}
			cmd := exec.Command(lambdatest.Chunkcode(t), append(args, in, "s3://"+s3.Bucket+"/results/out.mp4")...)
			cmd.Env = append(os.Environ(), s3.Env()...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			require.NoError(t, err, "stderr: %s\n%s", stderr.String(), fns.Logs())
			var sum transcode.Summary
			require.NoError(t, json.Unmarshal(stdout, &sum), "%s", stdout)
			assert.Equal(t, transcode.LambdaBackend, sum.Backend)
			assert.Equal(t, 2, sum.Workers, "one worker per endpoint")
			assert.Equal(t, frames, sum.Frames)
			assert.Equal(t, "s3://"+s3.Bucket+"/results/out.mp4", sum.Output)
			assert.Positive(t, sum.Remote.GBSeconds)

			// The output was uploaded, complete.
			obj, err := s3.Client().GetObject(context.Background(), &awss3.GetObjectInput{Bucket: &s3.Bucket, Key: aws.String("results/out.mp4")})
			require.NoError(t, err)
			f, err := os.Create(out)
			require.NoError(t, err)
			_, err = io.Copy(f, obj.Body)
			obj.Body.Close()
			require.NoError(t, f.Close())
			require.NoError(t, err)
			assert.Equal(t, frames, fixture.Frames(t, out))
			_, err = s3.Client().DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &s3.Bucket, Key: aws.String("results/out.mp4")})
			require.NoError(t, err)
			for _, k := range s3.Keys(t) {
				assert.False(t, strings.HasPrefix(k, "cli/"), "staging object %s left", k)
			}
		})
	})
	assert.Empty(t, s3.Keys(t), "objects left in the bucket")
}

// validRequest is a segment request the handler accepts; the handler tests
// change one thing in it at a time.
func validRequest() lambda.Request {
	return lambda.Request{
		Job: transcode.Job{Source: "https://bucket.s3.amazonaws.com/in.mp4?X-Amz-Signature=x", Frames: 25,
			Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23)}},
		ResultURL: "https://bucket.s3.amazonaws.com/seg.mp4?X-Amz-Signature=y",
	}
}

// TestHandlerRejects checks the handler's validation without an emulator:
// nothing runs for a request it refuses.
func TestHandlerRejects(t *testing.T) {
	good := validRequest()
	cases := map[string]struct {
		edit      func(*lambda.Request)
		allowHTTP bool
		want      string
	}{
		"plain http source":       {func(r *lambda.Request) { r.Job.Source = "http://127.0.0.1/in.mp4" }, false, "only https"},
		"plain http result":       {func(r *lambda.Request) { r.ResultURL = "http://127.0.0.1/seg.mp4" }, false, "only https"},
		"local file source":       {func(r *lambda.Request) { r.Job.Source = "file:///etc/passwd" }, true, `scheme "file"`},
		"bare path source":        {func(r *lambda.Request) { r.Job.Source = "/etc/passwd" }, true, `scheme ""`},
		"no result URL":           {func(r *lambda.Request) { r.ResultURL = "" }, false, "no result URL"},
		"user in URL":             {func(r *lambda.Request) { r.Job.Source = "https://u:p@host/in.mp4" }, false, "no user"},
		"negative frames":         {func(r *lambda.Request) { r.Job.Frames = -1 }, false, "frames -1 out of range"},
		"huge frames":             {func(r *lambda.Request) { r.Job.Frames = 1 << 30 }, false, "out of range"},
		"negative seek":           {func(r *lambda.Request) { r.Job.SeekMicros = -5 }, false, "seek"},
		"preroll beyond the seek": {func(r *lambda.Request) { r.Job.PrerollMicros = 10 }, false, "preroll"},
		"negative index":          {func(r *lambda.Request) { r.Job.Index = -1 }, false, "index"},
		"unknown codec":           {func(r *lambda.Request) { r.Job.Profile.Codec = "mpeg2" }, false, "unknown codec"},
		"crf out of range":        {func(r *lambda.Request) { r.Job.Profile.CRF = transcode.CRF(99) }, false, "crf 99"},
		"preset that is an option": {func(r *lambda.Request) { r.Job.Profile.Preset = "fast -i /etc/passwd" }, false,
			"unknown h264 preset"},
		"height out of range":  {func(r *lambda.Request) { r.Job.Profile.Height = 100000 }, false, "height"},
		"rotation not a right": {func(r *lambda.Request) { r.Job.Rotation = 45 }, false, "rotation"},
		"a newer protocol":     {func(r *lambda.Request) { r.Version = lambda.ProtocolVersion + 1 }, false, "protocol version"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			req := good
			c.edit(&req)
			h := &lambda.Handler{Runner: ffmpeg.Runner{FFmpeg: "/nonexistent/ffmpeg"}, AllowHTTP: c.allowHTTP, S3Endpoint: "127.0.0.1"}
			_, err := h.Handle(context.Background(), req)
			var fe *lambda.FunctionError
			require.True(t, errors.As(err, &fe), "error %v", err)
			assert.Equal(t, lambda.KindInvalid, fe.Kind)
			assert.Contains(t, fe.Message, c.want)
		})
	}
}

// TestHandlerIgnoresAudio checks that a segment of a WebM output, whose
// profile has opus audio, is not refused: segments are video only.
func TestHandlerIgnoresAudio(t *testing.T) {
	h := &lambda.Handler{Runner: ffmpeg.Runner{FFmpeg: "/nonexistent/ffmpeg"}}
	_, err := h.Handle(context.Background(), lambda.Request{
		Job: transcode.Job{Source: "https://bucket.s3.amazonaws.com/in.mkv", Frames: 25,
			Profile: transcode.Profile{Codec: media.VP9, CRF: transcode.CRF(31), AudioCodec: "opus", AudioBitrate: "96k"}},
		ResultURL: "https://bucket.s3.amazonaws.com/seg.mp4",
	})
	var fe *lambda.FunctionError
	require.ErrorAs(t, err, &fe)
	assert.NotEqual(t, lambda.KindInvalid, fe.Kind, "refused: %s", fe.Message)
}

// TestHandlerEncodeError checks that ffmpeg's complaint reaches the caller
// without the presigned signature, and that local files are out of reach.
func TestHandlerEncodeError(t *testing.T) {
	fixture.RequireFFmpeg(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not a video\n")
	}))
	defer srv.Close()
	h := &lambda.Handler{AllowHTTP: true, S3Endpoint: "127.0.0.1", TempDir: t.TempDir()}
	req := lambda.Request{
		Job: transcode.Job{Source: srv.URL + "/in.mp4?X-Amz-Signature=secret", Frames: 25,
			Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23), Preset: "ultrafast"}},
		ResultURL: srv.URL + "/seg.mp4?X-Amz-Signature=secret",
	}
	_, err := h.Handle(context.Background(), req)
	var fe *lambda.FunctionError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, lambda.KindEncode, fe.Kind)
	assert.Contains(t, fe.Message, "ffmpeg exited with status")
	assert.Contains(t, fe.Message, srv.URL+"/in.mp4", "the message names the source")
	assert.NotContains(t, fe.Message, "secret", "the message keeps the signature out")
}
