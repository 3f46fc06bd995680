package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/observe"
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

// TestInvocationLog: a function that exports no spans still logs each
// invocation with the client's trace ID, from the request's trace context,
// and the segment, as JSON records.
func TestInvocationLog(t *testing.T) {
	var buf bytes.Buffer
	log, err := observe.NewLogger(&buf, observe.LogJSON, slog.LevelInfo)
	require.NoError(t, err)
	h := &Handler{Log: log, TempDir: t.TempDir()} // no Recorder
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := Request{Version: ProtocolVersion, Job: transcode.Job{Index: 2}, // refused: no source
		TraceContext: map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"}}
	_, err = h.invocation(context.Background(), req, observe.Function{RequestID: "req-1", ColdStart: true})
	var fe *FunctionError
	require.ErrorAs(t, err, &fe)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "a record as it starts and as it ends")
	for i, l := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		assert.Equal(t, traceID, rec[observe.LogTraceID], l)
		assert.Equal(t, float64(3), rec[observe.LogSegment], l)
		assert.Equal(t, "req-1", rec["request_id"], l)
		if i == 1 {
			assert.Equal(t, "ERROR", rec["level"])
			assert.Equal(t, string(KindInvalid), rec["kind"])
		}
	}
}
