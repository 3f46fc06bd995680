package lambda

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProgressNoRedirect checks that the progress PUTs follow no redirect:
// the frame count reaches only the URL the request names.
func TestProgressNoRedirect(t *testing.T) {
	var foreign, puts atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		http.Redirect(w, r, other.URL+"/progress", http.StatusFound)
	}))
	defer srv.Close()
	h := &Handler{AllowHTTP: true, S3Endpoint: "127.0.0.1"}
	var frames atomic.Int64
	frames.Store(10)
	stop := h.reportProgress(context.Background(), srv.URL+"/progress", &frames)
	deadline := time.Now().Add(5 * ProgressInterval)
	for puts.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	require.Positive(t, puts.Load(), "the progress was sent")
	assert.Zero(t, foreign.Load(), "requests that reached the redirect's target")
}

// TestReplacer checks that the probe's copy loses every occurrence of the
// URL, whichever Writes it is split across.
func TestReplacer(t *testing.T) {
	old, repl := "https://b.s3.amazonaws.com/k?X-Amz-Signature=s", "https://b.s3.amazonaws.com/k"
	doc := `{"format": {"filename": "` + old + `", "x": "` + old + old + `"}}` + "\n"
	want := strings.ReplaceAll(doc, old, repl)
	for _, size := range []int{1, 2, 7, len(old) - 1, len(old), len(old) + 1, len(doc)} {
		var out bytes.Buffer
		r := newReplacer(&out, old, repl)
		for p := []byte(doc); len(p) > 0; {
			n := min(size, len(p))
			_, err := r.Write(p[:n])
			require.NoError(t, err)
			p = p[n:]
		}
		require.NoError(t, r.Flush())
		assert.Equal(t, want, out.String(), "writes of %d bytes", size)
	}
}
