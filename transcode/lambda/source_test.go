package lambda_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// reads is a proxy in front of the S3 server that counts, per object, the
// bytes each kind of client read: the functions' ffmpeg and ffprobe
// ("Lavf/…" user agent) or the AWS SDK of the process that runs the
// pipeline. Presigned URLs keep working through it: it forwards the Host
// header they were signed with.
type reads struct {
	mu    sync.Mutex
	bytes map[string]int64 // "lavf path" or "sdk path" → bytes
}

func startReads(t *testing.T, target string) (*reads, string) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	r := &reads{bytes: map[string]int64{}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = u.Scheme, u.Host
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method != http.MethodGet {
				return nil
			}
			client := "sdk"
			if strings.HasPrefix(resp.Request.UserAgent(), "Lavf/") {
				client = "lavf"
			}
			resp.Body = &countingBody{ReadCloser: resp.Body, reads: r, key: client + " " + resp.Request.URL.Path}
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// of returns the bytes client read of the object at path, or of every
// object when path is "".
func (r *reads) of(client, path string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if path != "" {
		return r.bytes[client+" "+path]
	}
	var n int64
	for k, v := range r.bytes {
		if strings.HasPrefix(k, client+" ") {
			n += v
		}
	}
	return n
}

type countingBody struct {
	io.ReadCloser
	reads *reads
	key   string
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.reads.mu.Lock()
	c.reads.bytes[c.key] += int64(n)
	c.reads.mu.Unlock()
	return n, err
}

// TestS3Input transcodes s3:// sources in place: the functions probe them,
// encode or copy their audio and copy their subtitles, chapters and
// metadata, and the pipeline reads none of their media.
func TestS3Input(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s3 := lambdatest.StartS3(t)
	lambdatest.Chunkcode(t)
	counted, endpoint := startReads(t, s3.Endpoint)
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2})
	tests := []struct {
		name       string
		spec       fixture.Spec
		ext        string
		audioCodec string
	}{
		{
			name: "mkv with two audio tracks, subtitles and chapters to mp4",
			spec: fixture.Spec{Name: "in.mkv", Duration: 3 * time.Second, Audio: 2,
				Languages: []string{"eng", "fra"}, Subtitles: true, Chapters: 3, Title: "Two tracks"},
			ext: ".mp4",
		},
		{
			name: "mp4 with mov_text subtitles and copied audio to mkv",
			spec: fixture.Spec{Name: "in.mp4", Audio: 1, Languages: []string{"deu"}, Subtitles: true, Chapters: 2, Title: "Copied"},
			ext:  ".mkv", audioCodec: "copy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fixture.Video(t, tt.spec)
			source, err := os.ReadFile(in)
			require.NoError(t, err)
			key := "media/" + tt.spec.Name
			ctx := context.Background()
			_, err = s3.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: &s3.Bucket, Key: &key, Body: bytes.NewReader(source)})
			require.NoError(t, err)

			b, err := lambda.New(s3.Config(), lambda.Options{
				Bucket: s3.Bucket, Endpoints: fns.Endpoints, S3Endpoint: endpoint, MemoryMB: 1024, Arch: "arm64",
			})
			require.NoError(t, err)
			// The pipeline's own ffmpeg and ffprobe cannot reach any http
			// URL, so every Lavf read counted below is a function's.
			p := &transcode.Pipeline{Backend: b, Runner: ffmpeg.Runner{Env: []string{"http_proxy=http://127.0.0.1:1"}}}
			out := filepath.Join(t.TempDir(), "out"+tt.ext)
			req := request("s3://"+s3.Bucket+"/"+key, out)
			req.Profile.AudioCodec = media.AudioCodec(tt.audioCodec)
			sum, err := p.Run(ctx, req)
			require.NoError(t, err, fns.Logs())

			assert.Equal(t, fixture.Frames(t, in), fixture.Frames(t, out), "output frames")
			want, got := fixture.AudioDurations(t, in), fixture.AudioDurations(t, out)
			require.Len(t, got, tt.spec.Audio, "audio tracks")
			for i := range want {
				assert.InDelta(t, want[i], got[i], transcode.AudioTolerance, "length of audio track %d", i)
			}
			src, dst := fixture.Inspect(t, in), fixture.Inspect(t, out)
			for _, typ := range []string{"audio", "subtitle"} {
				s, d := src.StreamsOf(typ), dst.StreamsOf(typ)
				require.Len(t, d, len(s), "%s tracks", typ)
				for i := range s {
					assert.Equal(t, language(s[i]), language(d[i]), "language of %s track %d", typ, i)
				}
			}
			assert.Equal(t, tt.spec.Languages[len(tt.spec.Languages)-1], dst.StreamsOf("audio")[tt.spec.Audio-1].Tags["language"])
			if tt.audioCodec == "copy" {
				assert.Equal(t, src.StreamsOf("audio")[0].Codec, dst.StreamsOf("audio")[0].Codec, "copied audio")
			}
			assert.Len(t, dst.Chapters, tt.spec.Chapters)
			assert.InDeltaSlice(t, chapterStarts(t, src.Chapters), chapterStarts(t, dst.Chapters), 0.001, "chapter starts")
			assert.Equal(t, tt.spec.Title, dst.Format.Tags["title"])

			// The source is untouched, and the staging objects are gone.
			obj, err := s3.Client().GetObject(ctx, &awss3.GetObjectInput{Bucket: &s3.Bucket, Key: &key})
			require.NoError(t, err)
			after, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			require.NoError(t, err)
			assert.True(t, bytes.Equal(source, after), "the source object changed")
			assert.Empty(t, staged(t, s3, b), "staging objects left")

			// Only the functions read the source; this process read none
			// of it.
			path := "/" + s3.Bucket + "/" + key
			assert.GreaterOrEqual(t, counted.of("lavf", path), int64(len(source)), "the functions read the source")
			assert.Positive(t, counted.of("sdk", ""), "the proxy sees what this process downloads")
			assert.Zero(t, counted.of("sdk", path), "bytes of the source this process read")

			// The source job is one more invocation, and it is paid for.
			total := 0
			for _, n := range b.Stats().Invocations {
				total += n
			}
			assert.Equal(t, sum.Segments+1, total, "invocations")
			segments := 0.0
			for _, r := range sum.Results {
				segments += r.Remote.BilledSeconds
			}
			assert.Greater(t, sum.Remote.BilledSeconds, segments, "the summary counts the source job")

			_, err = s3.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s3.Bucket, Key: &key})
			require.NoError(t, err)
		})
	}
}

// TestS3InputCLI transcodes with the chunkcode command an s3:// source that
// has nothing but video, chapters and a title, whose first source job
// fails; then an object that is not media.
func TestS3InputCLI(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s3 := lambdatest.StartS3(t)
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1, Env: []string{lambda.EnvTestFault + "=error-once"}})
	in := fixture.Video(t, fixture.Spec{Name: "in.mp4", Chapters: 2, Title: "Video only"})
	source, err := os.ReadFile(in)
	require.NoError(t, err)
	put := func(key string, body []byte) {
		_, err := s3.Client().PutObject(context.Background(), &awss3.PutObjectInput{Bucket: &s3.Bucket, Key: &key, Body: bytes.NewReader(body)})
		require.NoError(t, err)
	}
	put("in.mp4", source)
	put("junk.mp4", []byte("not a video\n"))
	chunkcode := func(input, output string) (stdout, stderr string, code int) {
		cmd := exec.Command(lambdatest.Chunkcode(t), "transcode", "--backend", "lambda", "--bucket", s3.Bucket,
			"--lambda-endpoint", fns.Endpoints[0], "--threads", "1", "--segment-duration", "0.5", "--json", "--no-progress",
			input, output)
		cmd.Env = append(os.Environ(), s3.Env()...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return o.String(), e.String(), ee.ExitCode()
		}
		require.NoError(t, err)
		return o.String(), e.String(), 0
	}

	out := filepath.Join(t.TempDir(), "out.mkv")
	stdout, stderr, code := chunkcode("s3://"+s3.Bucket+"/in.mp4", out)
	require.Equal(t, 0, code, "stderr: %s\n%s", stderr, fns.Logs())
	var sum struct{ Retries int }
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), stdout)
	assert.Equal(t, 1, sum.Retries, "the source job failed once")
	assert.Contains(t, stderr, "warning: retrying after:")
	assert.Equal(t, fixture.Frames(t, in), fixture.Frames(t, out), "output frames")
	src, dst := fixture.Inspect(t, in), fixture.Inspect(t, out)
	assert.Len(t, dst.Chapters, 2)
	assert.InDeltaSlice(t, chapterStarts(t, src.Chapters), chapterStarts(t, dst.Chapters), 0.001, "chapter starts")
	assert.Equal(t, "Video only", dst.Format.Tags["title"])
	assert.Empty(t, dst.StreamsOf("audio"))

	before := fns.Invocations()[0]
	_, stderr, code = chunkcode("s3://"+s3.Bucket+"/junk.mp4", filepath.Join(t.TempDir(), "junk.mkv"))
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "chunkcode: s3://"+s3.Bucket+"/junk.mp4: not a media file")
	assert.Equal(t, before+1, fns.Invocations()[0], "a source that is not media is not retried")

	assert.ElementsMatch(t, []string{"in.mp4", "junk.mp4"}, s3.Keys(t), "staging objects left")
	for _, key := range []string{"in.mp4", "junk.mp4"} {
		_, err = s3.Client().DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &s3.Bucket, Key: &key})
		require.NoError(t, err)
	}
}

// language is a stream's language tag; "und" (undetermined), which MP4
// writes for an untagged stream, is none.
func language(s fixture.Stream) string {
	if l := s.Tags["language"]; l != "und" {
		return l
	}
	return ""
}

// chapterStarts returns the chapters' start times in seconds.
func chapterStarts(t *testing.T, chapters []json.RawMessage) []float64 {
	t.Helper()
	var starts []float64
	for _, c := range chapters {
		var ch struct {
			Start fixture.Seconds `json:"start_time"`
		}
		require.NoError(t, json.Unmarshal(c, &ch))
		starts = append(starts, float64(ch.Start))
	}
	return starts
}

// TestHandlerRejectsSource checks the validation of a source job: nothing
// runs for a request the handler refuses.
func TestHandlerRejectsSource(t *testing.T) {
	good := lambda.SourceJob{
		URL:       "https://bucket.s3.amazonaws.com/in.mkv?X-Amz-Signature=x",
		Profile:   transcode.Profile{AudioCodec: "aac"},
		ProbeURL:  "https://bucket.s3.amazonaws.com/probe.json.gz?X-Amz-Signature=y",
		AudioURL:  "https://bucket.s3.amazonaws.com/audio.m4a?X-Amz-Signature=y",
		ExtrasURL: "https://bucket.s3.amazonaws.com/extras?X-Amz-Signature=y",
	}
	cases := map[string]struct {
		edit      func(*lambda.SourceJob)
		allowHTTP bool
		want      string
	}{
		"plain http source":         {func(j *lambda.SourceJob) { j.URL = "http://127.0.0.1/in.mkv" }, false, "source URL is plain http"},
		"plain http probe":          {func(j *lambda.SourceJob) { j.ProbeURL = "http://127.0.0.1/p" }, false, "probe URL is plain http"},
		"plain http audio":          {func(j *lambda.SourceJob) { j.AudioURL = "http://127.0.0.1/a" }, false, "audio URL is plain http"},
		"plain http extras":         {func(j *lambda.SourceJob) { j.ExtrasURL = "http://127.0.0.1/e" }, false, "extras URL is plain http"},
		"local file source":         {func(j *lambda.SourceJob) { j.URL = "file:///etc/passwd" }, true, `scheme "file"`},
		"bare path source":          {func(j *lambda.SourceJob) { j.URL = "/etc/passwd" }, true, `scheme ""`},
		"concat protocol source":    {func(j *lambda.SourceJob) { j.URL = "concat:/etc/passwd" }, true, `scheme "concat"`},
		"no source URL":             {func(j *lambda.SourceJob) { j.URL = "" }, false, "no source URL"},
		"no extras URL":             {func(j *lambda.SourceJob) { j.ExtrasURL = "" }, false, "no extras URL"},
		"user in URL":               {func(j *lambda.SourceJob) { j.URL = "https://u:p@host/in.mkv" }, false, "no user"},
		"huge URL":                  {func(j *lambda.SourceJob) { j.URL += strings.Repeat("x", 9000) }, false, "longer than"},
		"unknown audio codec":       {func(j *lambda.SourceJob) { j.Profile.AudioCodec = "pcm_s16le" }, false, "unknown audio codec"},
		"bitrate that is an option": {func(j *lambda.SourceJob) { j.Profile.AudioBitrate = "128k -i /etc/passwd" }, false, "audio bitrate"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			job := good
			c.edit(&job)
			h := &lambda.Handler{Runner: ffmpeg.Runner{FFmpeg: "/nonexistent/ffmpeg", FFprobe: "/nonexistent/ffprobe"}, AllowHTTP: c.allowHTTP, S3Endpoint: "127.0.0.1"}
			_, err := h.Handle(context.Background(), lambda.Request{Source: &job})
			var fe *lambda.FunctionError
			require.True(t, errors.As(err, &fe), "error %v", err)
			assert.Equal(t, lambda.KindInvalid, fe.Kind)
			assert.Contains(t, fe.Message, c.want)
		})
	}
	t.Run("http allowed for the emulator, then ffprobe missing", func(t *testing.T) {
		job := good
		job.URL, job.ProbeURL, job.AudioURL, job.ExtrasURL = "http://127.0.0.1:1/in.mkv", "http://127.0.0.1:1/p", "http://127.0.0.1:1/a", "http://127.0.0.1:1/e"
		h := &lambda.Handler{Runner: ffmpeg.Runner{FFmpeg: "/nonexistent/ffmpeg", FFprobe: "/nonexistent/ffprobe"}, AllowHTTP: true, S3Endpoint: "127.0.0.1", TempDir: t.TempDir()}
		_, err := h.Handle(context.Background(), lambda.Request{Source: &job})
		var fe *lambda.FunctionError
		require.ErrorAs(t, err, &fe)
		assert.NotEqual(t, lambda.KindInvalid, fe.Kind, "refused: %s", fe.Message)
		assert.Contains(t, fe.Message, "needs ffprobe", "the function says what it lacks")
	})
}

// TestHandlerSourceNotMedia checks that a source job on something that is
// not media answers KindMedia, without the presigned signature.
func TestHandlerSourceNotMedia(t *testing.T) {
	fixture.RequireFFmpeg(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not a video\n")
	}))
	defer srv.Close()
	h := &lambda.Handler{AllowHTTP: true, S3Endpoint: "127.0.0.1", TempDir: t.TempDir()}
	put := srv.URL + "/out?X-Amz-Signature=secret"
	_, err := h.Handle(context.Background(), lambda.Request{Source: &lambda.SourceJob{
		URL: srv.URL + "/in.mkv?X-Amz-Signature=secret", Profile: transcode.Profile{AudioCodec: "aac"},
		ProbeURL: put, AudioURL: put, ExtrasURL: put,
	}})
	var fe *lambda.FunctionError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, lambda.KindMedia, fe.Kind)
	assert.True(t, strings.HasPrefix(fe.Message, media.ErrNotMedia.Error()), "message %q", fe.Message)
	assert.NotContains(t, fe.Message, "secret", "the message keeps the signature out")
}

// TestSourceProbeKeepsNoSignature checks that the probe a source job
// stores in the staging bucket, which --keep leaves there, holds no part of
// the presigned URL the function read the source with.
func TestSourceProbeKeepsNoSignature(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s3 := lambdatest.StartS3(t)
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1})
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	source, err := os.ReadFile(in)
	require.NoError(t, err)
	ctx := context.Background()
	key := "media/in.mp4"
	_, err = s3.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: &s3.Bucket, Key: &key, Body: bytes.NewReader(source)})
	require.NoError(t, err)
	b := newBackend(t, s3, fns)
	req := request("s3://"+s3.Bucket+"/"+key, filepath.Join(t.TempDir(), "out.mp4"))
	req.Keep = true
	_, _, err = run(t, b, req)
	require.NoError(t, err, fns.Logs())

	var probes []string
	for _, k := range staged(t, s3, b) {
		if strings.HasSuffix(k, "/probe.json.gz") {
			probes = append(probes, k)
		}
	}
	require.Len(t, probes, 1, "the kept probe")
	obj, err := s3.Client().GetObject(ctx, &awss3.GetObjectInput{Bucket: &s3.Bucket, Key: &probes[0]})
	require.NoError(t, err)
	gz, err := gzip.NewReader(obj.Body)
	require.NoError(t, err)
	doc, err := io.ReadAll(gz)
	obj.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(doc), `"format_name"`, "the object is the probe")
	assert.Contains(t, string(doc), "/"+s3.Bucket+"/"+key, "the probe names the object, without the query")
	assert.NotContains(t, strings.ToLower(string(doc)), "x-amz-", "the probe holds a presigned URL's query")

	// The same backend runs again, without --keep: it leaves nothing of
	// its own and deletes nothing of the kept run's.
	kept := staged(t, s3, b)
	req.Keep = false
	_, _, err = run(t, b, req)
	require.NoError(t, err, fns.Logs())
	assert.ElementsMatch(t, kept, staged(t, s3, b), "objects after a second run")
	for _, k := range kept {
		_, err = s3.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s3.Bucket, Key: &k})
		require.NoError(t, err)
	}
	_, err = s3.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s3.Bucket, Key: &key})
	require.NoError(t, err)
	assert.Empty(t, s3.Keys(t), "objects left in the bucket")
}
