package lambda_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ladderEnv is a Lambda backend's world for ladder tests: versitygw, two
// emulators behind the regional endpoint stand-in (as on AWS, the backend
// has no Options.Endpoints), and a 3 s 320x240 source with audio.
type ladderEnv struct {
	s3       *lambdatest.S3
	fns      *lambdatest.Functions
	regional *lambdatest.Regional
	in       string
	frames   int
}

func startLadderEnv(t *testing.T, opts lambdatest.FunctionOptions) *ladderEnv {
	t.Helper()
	fixture.RequireFFmpeg(t)
	e := &ladderEnv{s3: lambdatest.StartS3(t)}
	opts.N = 2
	e.fns = lambdatest.StartFunctions(t, opts)
	e.regional = e.fns.Regional(t)
	for _, kv := range append(e.s3.Env(), "AWS_ENDPOINT_URL_LAMBDA="+e.regional.URL) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e.in = fixture.Video(t, fixture.Spec{Name: "in.mp4", Dir: t.TempDir(), Duration: 3 * time.Second, Width: 320, Height: 240, Audio: 1})
	e.frames = fixture.Frames(t, e.in)
	return e
}

// withSubtitles makes the source one with a text subtitle track too.
func (e *ladderEnv) withSubtitles(t *testing.T) {
	t.Helper()
	e.in = fixture.Video(t, fixture.Spec{Name: "in.mp4", Dir: t.TempDir(), Duration: 3 * time.Second, Width: 320, Height: 240, Audio: 1, Subtitles: true})
	e.frames = fixture.Frames(t, e.in)
}

// backend is a Lambda backend on the regional endpoint, its staging under
// a prefix of its own.
func (e *ladderEnv) backend(t *testing.T, edits ...func(*lambda.Options)) *lambda.Backend {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	require.NoError(t, err)
	opts := lambda.Options{
		Function: "chunkcode", Bucket: e.s3.Bucket, S3Endpoint: e.s3.Endpoint, MemoryMB: 1024, Arch: "arm64",
		Prefix: fmt.Sprintf("test-%d/", backendSeq.Add(1)),
	}
	for _, edit := range edits {
		edit(&opts)
	}
	b, err := lambda.New(cfg, opts)
	require.NoError(t, err)
	return b
}

// ladderRequest is a two-rung ladder of in at out, in 1 s media segments
// and chunks of one segment each.
func ladderRequest(in, out string) transcode.Request {
	rungs, _ := ladder.Parse("240,120")
	return transcode.Request{
		Input: in, Output: out, Ladder: rungs,
		Profile:         transcode.Profile{Preset: "ultrafast", Threads: 1},
		Workers:         2,
		SegmentLength:   time.Second,
		SegmentDuration: time.Second,
		Retries:         transcode.DefaultRetries,
	}
}

// keyTimes returns the number of video frames of the rendition in dir, as
// a player appends its segments, and the times of its keyframes.
func keyTimes(t *testing.T, dir string) (frames int, keys []float64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, transcode.LadderInit))
	require.NoError(t, err)
	for n := 0; ; n++ {
		b, err := os.ReadFile(filepath.Join(dir, transcode.SegmentName(n)))
		if os.IsNotExist(err) {
			break
		}
		require.NoError(t, err)
		data = append(data, b...)
	}
	path := filepath.Join(t.TempDir(), "rendition.mp4")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	out := fixture.FFprobe(t, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path)
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(strings.TrimSpace(l), ",")
		if len(f) < 2 {
			continue
		}
		frames++
		if strings.HasPrefix(f[1], "K") {
			v, err := strconv.ParseFloat(f[0], 64)
			require.NoError(t, err)
			keys = append(keys, v)
		}
	}
	return frames, keys
}

// TestLadderOnLambda encodes a ladder on the functions into a local
// directory, a chunk per invocation, a rung of a chunk per invocation, and
// a chunk per invocation from a source staged in pieces:
// every rung has every frame, keyframes on every segment boundary, and the
// run leaves nothing staged.
func TestLadderOnLambda(t *testing.T) {
	e := startLadderEnv(t, lambdatest.FunctionOptions{})
	for _, tc := range []struct {
		name   string
		mode   lambda.RungMode
		pieces bool
	}{{"chunk", lambda.RungsPerChunk, false}, {"split", lambda.RungsSplit, false}, {"chunk from pieces", lambda.RungsPerChunk, true}} {
		mode := tc.mode
		t.Run(tc.name, func(t *testing.T) {
			b := e.backend(t, func(o *lambda.Options) {
				o.Rungs = mode
				if tc.pieces {
					o.PiecesAbove = -1 // the small clip is staged in pieces, as a large one is
				}
			})
			out := filepath.Join(t.TempDir(), "ladder", "master.m3u8")
			before := e.regional.Invocations()
			sum, retries, err := run(t, b, ladderRequest(e.in, out))
			require.NoError(t, err, e.fns.Logs())
			assert.Empty(t, retries)
			require.Len(t, sum.Rungs, 2)
			assert.Equal(t, transcode.LambdaBackend, sum.Backend)
			chunks := sum.Segments
			require.Equal(t, 3, chunks)
			want := chunks
			if mode == lambda.RungsSplit {
				want = chunks * 2
			}
			assert.Equal(t, want, e.regional.Invocations()-before, "invocations")
			for _, r := range sum.Rungs {
				frames, keys := keyTimes(t, filepath.Join(filepath.Dir(out), fmt.Sprintf("%dp", r.Height)))
				assert.Equal(t, e.frames, frames, "%dp frames", r.Height)
				assert.InDeltaSlice(t, []float64{0, 1, 2}, keys, 1e-6, "%dp keyframes", r.Height)
			}
			assert.FileExists(t, filepath.Join(filepath.Dir(out), "audio0", "playlist.m3u8"))
			st := b.Stats()
			assert.Len(t, st.Ladder, want, "invocations priced")
			if tc.pieces {
				assert.Equal(t, chunks, st.Pieces, "pieces staged")
			}
			assert.Empty(t, staged(t, e.s3, b), "staging objects left")
		})
	}
}

// mirror writes the bucket's objects under prefix into a new directory, by
// key, for ffprobe to read as a player would fetch them.
func mirror(t *testing.T, s3 *lambdatest.S3, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	for key, data := range s3.Files(t) {
		name, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	return dir
}

// TestLadderToS3 publishes a ladder encoded on the functions to an s3://
// prefix, with HLS and DASH: the manifests name the generation's
// playlists and segments, and its subtitles, every rung has every frame
// and its keyframes on the boundaries, and nothing is left in staging.
func TestLadderToS3(t *testing.T) {
	e := startLadderEnv(t, lambdatest.FunctionOptions{})
	e.withSubtitles(t)
	b := e.backend(t)
	target, err := publish.ParseTarget("s3://" + e.s3.Bucket + "/videos/talk/master.m3u8")
	require.NoError(t, err)
	pub, err := b.Publish(target, publish.Options{})
	require.NoError(t, err)
	req := ladderRequest(e.in, target.String())
	req.Manifests = []string{transcode.HLS, transcode.DASH}
	req.Publish = pub
	sum, retries, err := run(t, b, req)
	require.NoError(t, err, e.fns.Logs())
	assert.Empty(t, retries)
	require.NotNil(t, sum.Published)
	assert.Equal(t, pub.Dir(), sum.Published.Dir)
	assert.Equal(t, []string{target.String(), "s3://" + e.s3.Bucket + "/videos/talk/manifest.mpd"}, sum.Manifests)

	dir := mirror(t, e.s3, "videos/talk/")
	master, err := os.ReadFile(filepath.Join(dir, "master.m3u8"))
	require.NoError(t, err)
	t.Logf("master.m3u8:\n%s", master)
	m, err := manifest.ParseMaster(master)
	require.NoError(t, err)
	require.Len(t, m.Variants, 2)
	for i, v := range m.Variants {
		assert.Equal(t, pub.Dir()+fmt.Sprintf("%dp/playlist.m3u8", sum.Rungs[i].Height), v.URI)
		frames, keys := keyTimes(t, filepath.Join(dir, filepath.Dir(v.URI)))
		assert.Equal(t, e.frames, frames, "%s frames", v.URI)
		assert.InDeltaSlice(t, []float64{0, 1, 2}, keys, 1e-6, "%s keyframes", v.URI)
	}
	require.Len(t, m.Audio, 1)
	assert.Equal(t, pub.Dir()+"audio0/playlist.m3u8", m.Audio[0].URI)
	assert.FileExists(t, filepath.Join(dir, filepath.Dir(m.Audio[0].URI), transcode.LadderInit))
	// The subtitles, converted here, are published with the rest: a
	// WebVTT segment per media segment for HLS, the whole file for DASH.
	require.Len(t, m.Subtitles, 1)
	assert.Equal(t, pub.Dir()+"subtitles0/playlist.m3u8", m.Subtitles[0].URI)
	sp, err := manifest.ParsePlaylist(mustRead(t, filepath.Join(dir, m.Subtitles[0].URI)))
	require.NoError(t, err)
	require.Len(t, sp.Segments, 3)
	for _, seg := range sp.Segments {
		assert.FileExists(t, filepath.Join(dir, filepath.Dir(m.Subtitles[0].URI), seg.URI))
	}
	mpd, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
	require.NoError(t, err)
	assert.Contains(t, string(mpd), `media="`+pub.Dir()+`240p/seg$Number$.m4s"`)
	assert.Contains(t, string(mpd), "<BaseURL>"+pub.Dir()+"subtitles0/subtitles.vtt</BaseURL>")
	assert.FileExists(t, filepath.Join(dir, pub.Dir()+"subtitles0", "subtitles.vtt"))

	for _, k := range e.s3.Keys(t) {
		assert.False(t, strings.HasPrefix(k, b.Prefix()), "left in staging: %s", k)
	}
}

// traffic is a proxy in front of the S3 server that counts the bytes the
// AWS SDK of this process sends (PUT bodies) and reads (GET bodies), per
// object path. Presigned URLs, which the functions use, go through it
// too, and are counted apart: their user agent is not the SDK's.
type traffic struct {
	mu   sync.Mutex
	sent map[string]int64 // "METHOD path" → request body bytes, the SDK's
	read map[string]int64 // path → response body bytes, the SDK's
}

func startTraffic(t *testing.T, target string) (*traffic, string) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	tr := &traffic{sent: map[string]int64{}, read: map[string]int64{}}
	sdk := func(r *http.Request) bool { return strings.Contains(r.UserAgent(), "aws-sdk-go") }
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = u.Scheme, u.Host
			pr.Out.Host = pr.In.Host
			if sdk(pr.In) && pr.In.Body != nil {
				body, err := io.ReadAll(pr.In.Body)
				require.NoError(t, err)
				tr.mu.Lock()
				tr.sent[pr.In.Method+" "+pr.In.URL.Path] += int64(len(body))
				tr.mu.Unlock()
				pr.Out.Body = io.NopCloser(bytes.NewReader(body))
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method == http.MethodGet && sdk(resp.Request) {
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				tr.mu.Lock()
				tr.read[resp.Request.URL.Path] += int64(len(body))
				tr.mu.Unlock()
				resp.Body = io.NopCloser(bytes.NewReader(body))
			}
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return tr, srv.URL
}

// TestLadderS3ToS3 transcodes an s3:// source into an s3:// ladder with
// no media byte passing through this process: the functions probe the
// source, encode its audio and video and stage the segments; this process
// reads only the probe and writes only the playlists and manifests, which
// the proxy in front of S3 proves. Its own ffmpeg cannot reach the
// network, so the source's subtitles are left out with a warning.
func TestLadderS3ToS3(t *testing.T) {
	e := startLadderEnv(t, lambdatest.FunctionOptions{})
	e.withSubtitles(t)
	counted, endpoint := startTraffic(t, e.s3.Endpoint)
	source, err := os.ReadFile(e.in)
	require.NoError(t, err)
	ctx := context.Background()
	key := "media/in.mp4"
	_, err = e.s3.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: &e.s3.Bucket, Key: &key, Body: bytes.NewReader(source)})
	require.NoError(t, err)

	b := e.backend(t, func(o *lambda.Options) { o.S3Endpoint = endpoint })
	target, err := publish.ParseTarget("s3://" + e.s3.Bucket + "/videos/s3/master.m3u8")
	require.NoError(t, err)
	pub, err := b.Publish(target, publish.Options{})
	require.NoError(t, err)
	req := ladderRequest("s3://"+e.s3.Bucket+"/"+key, target.String())
	req.Manifests = []string{transcode.HLS, transcode.DASH}
	req.Publish = pub
	p := &transcode.Pipeline{Backend: b, Runner: ffmpeg.Runner{Env: []string{"http_proxy=http://127.0.0.1:1", "https_proxy=http://127.0.0.1:1"}}}
	sum, err := p.Run(ctx, req)
	require.NoError(t, err, e.fns.Logs())

	dir := mirror(t, e.s3, "videos/s3/")
	m, err := manifest.ParseMaster(mustRead(t, filepath.Join(dir, "master.m3u8")))
	require.NoError(t, err)
	require.Len(t, m.Variants, 2)
	for _, v := range m.Variants {
		frames, keys := keyTimes(t, filepath.Join(dir, filepath.Dir(v.URI)))
		assert.Equal(t, e.frames, frames, "%s frames", v.URI)
		assert.InDeltaSlice(t, []float64{0, 1, 2}, keys, 1e-6, "%s keyframes", v.URI)
	}
	require.Len(t, m.Audio, 1)
	audio := filepath.Join(dir, filepath.Dir(m.Audio[0].URI))
	pl, err := manifest.ParsePlaylist(mustRead(t, filepath.Join(audio, "playlist.m3u8")))
	require.NoError(t, err)
	assert.InDelta(t, 3.0, pl.Duration(), 0.1, "audio playlist duration")
	assert.FileExists(t, filepath.Join(audio, transcode.LadderInit))

	// What this process's SDK sent: the playlists and manifests, and
	// the lists of staging keys it deletes (POST ?delete).
	counted.mu.Lock()
	defer counted.mu.Unlock()
	var sent int64
	for k, n := range counted.sent {
		if n == 0 || k == "POST /"+e.s3.Bucket {
			continue
		}
		assert.Regexp(t, `^PUT /`+e.s3.Bucket+`/videos/s3/.*\.(m3u8|mpd)$`, k, "this process sent %d bytes", n)
		sent += n
	}
	assert.Positive(t, sent)
	// What it read: the probe, and the manifests it replaces, no media.
	for path, n := range counted.read {
		assert.NotRegexp(t, `\.(mp4|m4s)$|/source/audio`, path, "this process read %d bytes of media", n)
	}
	assert.Zero(t, counted.read["/"+e.s3.Bucket+"/"+key], "bytes of the source this process read")
	t.Logf("this process sent %d bytes and read %v", sent, counted.read)
	assert.Positive(t, sum.Rungs[0].Frames)
	assert.Empty(t, m.Subtitles)
	require.Len(t, sum.Warnings, 1)
	assert.Contains(t, sum.Warnings[0], "subtitle streams left out of the ladder")
	for _, k := range e.s3.Keys(t) {
		assert.False(t, strings.HasPrefix(k, b.Prefix()), "left in staging: %s", k)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// TestLadderToS3Faults publishes ladders on functions that fail: once, on
// the first rung each emulator is given, with a rung per invocation (the
// chunk is retried, and the ladder is complete), and always (the
// run fails, the ladder already at the prefix is untouched, nothing new is
// under it and the staging prefix is empty).
func TestLadderToS3Faults(t *testing.T) {
	t.Run("a rung fails once", func(t *testing.T) {
		e := startLadderEnv(t, lambdatest.FunctionOptions{Env: []string{lambda.EnvTestFault + "=error-once"}})
		b := e.backend(t, func(o *lambda.Options) { o.Rungs = lambda.RungsSplit })
		target, err := publish.ParseTarget("s3://" + e.s3.Bucket + "/videos/once/master.m3u8")
		require.NoError(t, err)
		pub, err := b.Publish(target, publish.Options{})
		require.NoError(t, err)
		req := ladderRequest(e.in, target.String())
		req.Publish = pub
		sum, retries, err := run(t, b, req)
		require.NoError(t, err, e.fns.Logs())
		require.NotEmpty(t, retries, "the failed rung is retried")
		for _, r := range retries {
			assert.ErrorContains(t, r, "InjectedFault")
		}
		// Every rung of every chunk once, and again each that failed:
		// one on each emulator, which keeps its error-once marker in its
		// own TMPDIR. (A rung of the failed chunk cancelled mid-invocation
		// counts too.)
		assert.GreaterOrEqual(t, e.regional.Invocations(), sum.Segments*2+len(e.fns.Endpoints), "invocations")
		dir := mirror(t, e.s3, "videos/once/")
		m, err := manifest.ParseMaster(mustRead(t, filepath.Join(dir, "master.m3u8")))
		require.NoError(t, err)
		for _, v := range m.Variants {
			frames, keys := keyTimes(t, filepath.Join(dir, filepath.Dir(v.URI)))
			assert.Equal(t, e.frames, frames, "%s frames", v.URI)
			assert.InDeltaSlice(t, []float64{0, 1, 2}, keys, 1e-6, "%s keyframes", v.URI)
		}
	})
	t.Run("every invocation fails", func(t *testing.T) {
		e := startLadderEnv(t, lambdatest.FunctionOptions{Env: []string{lambda.EnvTestFault + "=error"}})
		ctx := context.Background()
		old := "videos/fail/master.m3u8"
		oldText := "#EXTM3U\n# the ladder published before\n"
		_, err := e.s3.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: &e.s3.Bucket, Key: &old, Body: strings.NewReader(oldText)})
		require.NoError(t, err)
		b := e.backend(t)
		target, err := publish.ParseTarget("s3://" + e.s3.Bucket + "/" + old)
		require.NoError(t, err)
		pub, err := b.Publish(target, publish.Options{})
		require.NoError(t, err)
		req := ladderRequest(e.in, target.String())
		req.Publish = pub
		_, _, err = run(t, b, req)
		require.Error(t, err)
		assert.ErrorContains(t, err, "InjectedFault")
		assert.ErrorContains(t, err, "failed after 3 attempts")
		var under []string
		for key, data := range e.s3.Files(t) {
			if strings.HasPrefix(key, "videos/fail/") {
				under = append(under, key)
				assert.Equal(t, oldText, string(data), "the old master playlist")
			}
			assert.False(t, strings.HasPrefix(key, b.Prefix()), "left in staging: %s", key)
		}
		assert.Equal(t, []string{old}, under, "objects under the output prefix")
	})
	t.Run("S3 goes down during the final copy", func(t *testing.T) {
		e := startLadderEnv(t, lambdatest.FunctionOptions{})
		ctx := context.Background()
		old := "videos/down/master.m3u8"
		oldText := "#EXTM3U\n# the ladder published before\n"
		_, err := e.s3.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: &e.s3.Bucket, Key: &old, Body: strings.NewReader(oldText)})
		require.NoError(t, err)
		// A proxy that answers 503 to everything from the first copy on.
		u, err := url.Parse(e.s3.Endpoint)
		require.NoError(t, err)
		var down atomic.Bool
		proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = u.Scheme, u.Host
			pr.Out.Host = pr.In.Host
		}}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				down.Store(true)
			}
			if down.Load() {
				http.Error(w, "<Error><Code>ServiceUnavailable</Code></Error>", http.StatusServiceUnavailable)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		b := e.backend(t, func(o *lambda.Options) { o.S3Endpoint = srv.URL })
		target, err := publish.ParseTarget("s3://" + e.s3.Bucket + "/" + old)
		require.NoError(t, err)
		pub, err := b.Publish(target, publish.Options{})
		require.NoError(t, err)
		req := ladderRequest(e.in, target.String())
		req.Publish = pub
		_, _, err = run(t, b, req)
		require.Error(t, err)
		t.Logf("the run's error: %v", err)
		assert.True(t, down.Load(), "the copy started")
		assert.ErrorContains(t, err, "publish s3://"+e.s3.Bucket+"/"+old)
		assert.ErrorContains(t, err, "503")
		assert.NotContains(t, err.Error(), "\n", "one line")
		for key, data := range e.s3.Files(t) {
			if key == old {
				assert.Equal(t, oldText, string(data), "the old master playlist")
			}
		}
	})
}
