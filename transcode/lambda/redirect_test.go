package lambda_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// foreignBody is what a server that redirects answers in its body; it
// must not reach a message.
const foreignBody = "body-of-a-foreign-server"

// redirecting is an S3 stand-in that serves the source at /in.mp4 and
// takes PUTs at /seg, and redirects /moved/... with the status in the
// query to a foreign server, which counts what reaches it.
func redirecting(t *testing.T, source string) (s3URL string, foreign *atomic.Int32) {
	t.Helper()
	foreign = new(atomic.Int32)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		http.ServeFile(w, r, source)
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/in.mp4":
			http.ServeFile(w, r, source)
		case "/seg":
		case "/moved":
			w.Header().Set("Location", other.URL+"/in.mp4")
			code := http.StatusFound
			if r.URL.Query().Get("code") == "307" {
				code = http.StatusTemporaryRedirect
			}
			w.WriteHeader(code)
			w.Write([]byte(foreignBody))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, foreign
}

// TestHandlerNoRedirects checks that the function follows no redirect, for
// the source (ffmpeg) or the result (the Go client), and that what a server
// answers stays out of its errors.
func TestHandlerNoRedirects(t *testing.T) {
	fixture.RequireFFmpeg(t)
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	s3, foreign := redirecting(t, in)
	cases := map[string]struct {
		source, result string
		kind           lambda.Kind
		want           string
	}{
		"source redirected":          {s3 + "/moved?code=302", s3 + "/seg", lambda.KindEncode, "Input/output error"},
		"result redirected with 302": {s3 + "/in.mp4", s3 + "/moved?code=302", lambda.KindUpload, "answered 302 Found, a redirect"},
		"result redirected with 307": {s3 + "/in.mp4", s3 + "/moved?code=307", lambda.KindUpload, "answered 307 Temporary Redirect, a redirect"},
		"result refused":             {s3 + "/in.mp4", s3 + "/nowhere", lambda.KindUpload, "answered 404 Not Found"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			foreign.Store(0)
			h := &lambda.Handler{AllowHTTP: true, S3Endpoint: "127.0.0.1", TempDir: t.TempDir()}
			_, err := h.Handle(context.Background(), lambda.Request{
				Job: transcode.Job{Source: c.source, Frames: 25,
					Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23), Preset: "ultrafast", Threads: 1}},
				ResultURL: c.result,
			})
			var fe *lambda.FunctionError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.kind, fe.Kind, fe.Message)
			assert.Contains(t, fe.Message, c.want)
			assert.NotContains(t, fe.Message, foreignBody, "the answer's body stays out of the message")
			assert.NotContains(t, fe.Message, "page not found", "the answer's body stays out of the message")
			assert.Zero(t, foreign.Load(), "requests that reached the redirect's target")
		})
	}
}

// TestHandlerHosts checks that source, result and progress URLs must be
// on S3: AWS's hosts, or the one endpoint the function is configured with.
func TestHandlerHosts(t *testing.T) {
	cases := []struct {
		name, url, endpoint string
		ok                  bool
	}{
		{"virtual-hosted S3", "https://bucket.s3.us-east-1.amazonaws.com/k", "", true},
		{"path-style S3", "https://s3.amazonaws.com/bucket/k", "", true},
		{"S3 in China", "https://bucket.s3.cn-north-1.amazonaws.com.cn/k", "", true},
		{"upper case", "https://BUCKET.S3.AMAZONAWS.COM/k", "", true},
		{"look-alike host", "https://bucket.s3.amazonaws.com.example.com/k", "", false},
		{"amazonaws.com itself", "https://amazonaws.com/k", "", false},
		{"another host", "https://example.com/k", "", false},
		{"the runtime API", "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "", false},
		{"metadata address", "http://169.254.169.254/latest/meta-data/", "", false},
		{"the configured host, any port", "http://127.0.0.1:7070/b/k", "127.0.0.1", true},
		{"the configured host and port", "http://127.0.0.1:7070/b/k", "127.0.0.1:7070", true},
		{"the configured host on another port", "http://127.0.0.1:9001/b/k", "127.0.0.1:7070", false},
		{"the configured endpoint as a URL", "http://minio.internal:9000/b/k", "http://minio.internal:9000", true},
		{"another host than the configured one", "http://10.0.0.1:7070/b/k", "127.0.0.1", false},
	}
	good := "https://bucket.s3.amazonaws.com/k"
	for _, c := range cases {
		for _, field := range []string{"source", "result", "progress"} {
			t.Run(c.name+"/"+field, func(t *testing.T) {
				req := lambda.Request{
					Job:       transcode.Job{Source: good, Frames: 25, Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23)}},
					ResultURL: good, ProgressURL: good,
				}
				switch field {
				case "source":
					req.Job.Source = c.url
				case "result":
					req.ResultURL = c.url
				case "progress":
					req.ProgressURL = c.url
				}
				h := &lambda.Handler{Runner: ffmpeg.Runner{FFmpeg: "/nonexistent/ffmpeg"}, AllowHTTP: true, S3Endpoint: c.endpoint, TempDir: t.TempDir()}
				_, err := h.Handle(context.Background(), req)
				var fe *lambda.FunctionError
				require.ErrorAs(t, err, &fe)
				if c.ok {
					assert.NotEqual(t, lambda.KindInvalid, fe.Kind, "refused: %s", fe.Message)
					return
				}
				assert.Equal(t, lambda.KindInvalid, fe.Kind)
				assert.Contains(t, fe.Message, field+" URL host")
				assert.Contains(t, fe.Message, "is not an S3 endpoint")
			})
		}
	}
}
