package lambda_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHandlerLimits checks that the function refuses a job above what it
// can do in 15 minutes with an error the pipeline does not retry.
func TestHandlerLimits(t *testing.T) {
	good := validRequest()
	cases := map[string]struct {
		edit func(*lambda.Request)
		want string
	}{
		"too many frames":     {func(r *lambda.Request) { r.Job.Frames = lambda.MaxJobFrames + 1 }, "frames 1000001 above"},
		"output too tall":     {func(r *lambda.Request) { r.Job.Profile.Height = lambda.MaxJobHeight + 2 }, "height 4322 above"},
		"too many threads":    {func(r *lambda.Request) { r.Job.Profile.Threads = lambda.MaxJobThreads + 1 }, "threads 17 above"},
		"every limit at once": {func(r *lambda.Request) { r.Job.Frames, r.Job.Profile.Threads = 2_000_000, 64 }, "frames"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			req := good
			c.edit(&req)
			h := &lambda.Handler{Runner: ffmpeg.Runner{FFmpeg: "/nonexistent/ffmpeg"}}
			_, err := h.Handle(context.Background(), req)
			var fe *lambda.FunctionError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, lambda.KindLimit, fe.Kind)
			assert.Contains(t, fe.Message, c.want)
			assert.ErrorIs(t, err, transcode.ErrPermanent, "not retried")
		})
	}

	t.Run("pictures larger than the job's share of the pixel budget", func(t *testing.T) {
		fixture.RequireFFmpeg(t)
		// 1080p pictures: 700,000 frames of them are above the budget.
		in := fixture.Video(t, fixture.Spec{Width: 1920, Height: 1080, Duration: time.Second})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				http.ServeFile(w, r, in)
			}
		}))
		defer srv.Close()
		require.Less(t, int64(lambda.MaxJobPixelFrames/700_000), int64(1920*1080))
		h := &lambda.Handler{AllowHTTP: true, S3Endpoint: "127.0.0.1", TempDir: t.TempDir()}
		req := good
		req.Job.Source, req.ResultURL = srv.URL+"/"+filepath.Base(in), srv.URL+"/seg.mp4"
		req.Job.Frames = 700_000
		req.Job.Profile.Preset = "ultrafast"
		_, err := h.Handle(context.Background(), req)
		var fe *lambda.FunctionError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, lambda.KindLimit, fe.Kind, fe.Message)
		assert.Contains(t, fe.Message, "1920x1080 exceeds specified max pixel count")
		assert.ErrorIs(t, err, transcode.ErrPermanent)
	})
}
