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
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
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

// TestChunkJobRefused checks that a chunk or audio job the function could
// never run is refused before anything runs, as KindInvalid, naming what
// is wrong.
func TestChunkJobRefused(t *testing.T) {
	h := &Handler{}
	url := "https://b.s3.amazonaws.com/x"
	chunk := func(edit func(*Request)) Request {
		r := Request{
			Version: chunkVersion,
			Job:     transcode.Job{Source: url, Frames: 50, Profile: transcode.Profile{Codec: media.H264}},
			Chunk: &ChunkJob{
				Rungs:     []ladder.Rung{{Height: 240, Width: 320, MaxrateKbps: 365, BufsizeKbps: 730}},
				KeyFrames: []int{0, 25}, Starts: []int64{0, 1}, TimeBase: media.Rational{Num: 1, Den: 25},
				SegmentURLs: [][]string{{url, url}},
			},
		}
		edit(&r)
		return r
	}
	audio := func(edit func(*AudioJob)) Request {
		a := AudioJob{URL: url, Streams: []int{1}, Bitrate: "128k", SegmentLength: time.Second, SegmentURLs: [][]string{{url}}}
		edit(&a)
		return Request{Version: chunkVersion, Audio: &a}
	}
	for name, tc := range map[string]struct {
		req  Request
		want string
	}{
		"too few segment URLs":  {chunk(func(r *Request) { r.Chunk.SegmentURLs = [][]string{{url}} }), "1 segment URLs for 2 media segments"},
		"an odd rung":           {chunk(func(r *Request) { r.Chunk.Rungs[0].Height = 241 }), "rung 0 is 320x241"},
		"key frames backwards":  {chunk(func(r *Request) { r.Chunk.KeyFrames = []int{0, 60} }), "key frames are not increasing"},
		"a first key frame":     {chunk(func(r *Request) { r.Chunk.KeyFrames = []int{1, 25} }), "the first key frame 0"},
		"no rung":               {chunk(func(r *Request) { r.Chunk.Rungs = nil }), "0 rungs"},
		"a URL off S3":          {chunk(func(r *Request) { r.Chunk.SegmentURLs[0][1] = "https://example.com/x" }), "not an S3 endpoint"},
		"a newer protocol":      {chunk(func(r *Request) { r.Version = ProtocolVersion + 1 }), "newer than the function's"},
		"audio without bitrate": {audio(func(a *AudioJob) { a.Bitrate = "" }), "no audio bitrate"},
		"audio URLs per track":  {audio(func(a *AudioJob) { a.Streams = []int{1, 2} }), "segment URLs for 1 tracks, want 2"},
		"audio segment length":  {audio(func(a *AudioJob) { a.SegmentLength = time.Millisecond }), "segment length 1ms out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.Handle(context.Background(), tc.req)
			var fe *FunctionError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, KindInvalid, fe.Kind)
			assert.Contains(t, fe.Message, tc.want)
		})
	}
}
