package lambda_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHandlerVerifiesSource checks that ffmpeg on the function verifies an
// https source's certificate: a self-signed server fails the job with a
// permanent TLSVerifyFailed, and the same server passes once its
// certificate is in the CA bundle.
func TestHandlerVerifiesSource(t *testing.T) {
	fixture.RequireFFmpeg(t)
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.ServeFile(w, r, in)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	req := lambda.Request{
		Job: transcode.Job{Source: srv.URL + "/in.mp4?X-Amz-Signature=secret", Frames: 25,
			Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23), Preset: "ultrafast", Threads: 1}},
		// The result goes to the same server, through a client that
		// trusts it: only ffmpeg's reading is in question.
		ResultURL: srv.URL + "/seg.mp4",
	}

	t.Run("self-signed", func(t *testing.T) {
		h := &lambda.Handler{S3Endpoint: "127.0.0.1", TempDir: t.TempDir(), Client: srv.Client()}
		_, err := h.Handle(context.Background(), req)
		var fe *lambda.FunctionError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, lambda.KindTLS, fe.Kind, fe.Message)
		assert.Contains(t, fe.Message, "the source's TLS certificate did not verify")
		assert.NotContains(t, fe.Message, "secret")
		assert.ErrorIs(t, err, transcode.ErrPermanent, "not retried")
	})
	t.Run("trusted through the CA bundle", func(t *testing.T) {
		h := &lambda.Handler{S3Endpoint: "127.0.0.1", TempDir: t.TempDir(), Client: srv.Client(), CAFile: bundle}
		resp, err := h.Handle(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, 25, resp.Frames)
	})
}
