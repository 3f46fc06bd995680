package lambda_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/internal/jaegertest"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJaegerEmulators runs a traced transcode on two real Lambda emulators,
// each failing its first invocation, with the client and the functions
// exporting to a real Jaeger: the run is one trace; every invocation span
// carries its request ID; the function's spans, exported by the function
// process under the emulator, share the trace ID and are children of the
// invocation spans; the failed attempts have an error status, as do their
// invocations and functions; and the function logs JSON records with the
// trace ID and the segment.
func TestJaegerEmulators(t *testing.T) {
	fixture.RequireFFmpeg(t)
	jaeger := jaegertest.Start(t)
	s3 := lambdatest.StartS3(t)
	in := fixture.Video(t, fixture.Spec{Name: "in.mp4", Dir: t.TempDir(), Duration: 2 * time.Second, Audio: 1})
	service := "chunkcode-lambda-test"
	fnService := "chunkcode-function-test"
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2, Env: []string{
		"CHUNKCODE_TEST_FAULT=error-once", "OTEL_EXPORTER_OTLP_ENDPOINT=" + jaeger.OTLPEndpoint, "OTEL_SERVICE_NAME=" + fnService,
	}})
	b := newBackend(t, s3, fns)

	t.Setenv(observe.EnvEndpoint, jaeger.OTLPEndpoint)
	t.Setenv("OTEL_SERVICE_NAME", service)
	rec, err := observe.New(t.Context(), observe.Options{})
	require.NoError(t, err)
	require.True(t, rec.Exporting())
	p := &transcode.Pipeline{Backend: b, Recorder: rec}
	sum, err := p.Run(context.Background(), request(in, filepath.Join(t.TempDir(), "out.mp4")))
	require.NoError(t, err, fns.Logs())
	require.NoError(t, rec.Shutdown(t.Context()))
	failures := sum.Retries
	assert.Equal(t, 2, failures, "each emulator fails its first invocation")

	// run and 7 stages; segment, invoke and function per attempt; ffmpeg
	// and upload per attempt that passed (the injected failure comes
	// before ffmpeg).
	want := 8 + 3*(sum.Segments+failures) + 2*sum.Segments
	traces := jaeger.WaitSpans(t, service, want)
	require.Len(t, traces, 1, "one trace per run")
	tr := traces[0]
	require.Len(t, tr.Spans, want)
	assert.Equal(t, sum.TraceID, tr.ID)
	byID := map[string]jaegertest.Span{}
	count := map[string]int{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
		count[s.Name]++
		assert.Equal(t, tr.ID, s.TraceID)
	}
	parent := func(s jaegertest.Span) jaegertest.Span { return byID[s.ParentID] }
	failed := 0
	for _, s := range tr.Spans {
		switch s.Name {
		case "segment":
			assert.Equal(t, "encode", parent(s).Name)
			assert.Equal(t, "lambda", s.Tags["chunkcode.backend"])
			if s.Error {
				failed++
			}
		case "invoke":
			assert.Equal(t, "segment", parent(s).Name)
			assert.Equal(t, service, s.Service)
			assert.NotEmpty(t, s.Tags["aws.request_id"], "the invocation's request ID")
			assert.Equal(t, "aws", s.Tags["faas.invoked_provider"])
			assert.Equal(t, parent(s).Error, s.Error, "the invocation fails with its attempt")
		case "function":
			inv := parent(s)
			assert.Equal(t, "invoke", inv.Name, "the function's span is a child of the invocation's")
			assert.Equal(t, fnService, s.Service, "exported by the function process")
			assert.Equal(t, inv.Tags["aws.request_id"], s.Tags["faas.invocation_id"], "the same invocation")
			assert.Equal(t, "aws_lambda", s.Tags["cloud.platform"])
			assert.Equal(t, inv.Error, s.Error)
		case "ffmpeg", "upload":
			assert.Equal(t, "function", parent(s).Name)
			assert.Equal(t, fnService, s.Service)
			assert.False(t, s.Error)
		}
	}
	assert.Equal(t, failures, failed, "failed attempts with an error status")
	assert.Equal(t, sum.Segments+failures, count["invoke"])
	assert.Equal(t, sum.Segments+failures, count["function"])

	// The functions' JSON records, in the emulators' logs.
	records := 0
	for _, l := range strings.Split(fns.Logs(), "\n") {
		var rec map[string]any
		if !strings.HasPrefix(l, "{") || json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		records++
		assert.Equal(t, sum.TraceID, rec["trace_id"], "record %s", l)
		assert.Positive(t, rec["segment"], "record %s", l)
		assert.NotEmpty(t, rec["request_id"], "record %s", l)
	}
	assert.Equal(t, 2*(sum.Segments+failures), records, "a record as each invocation starts and ends:\n%s", fns.Logs())
}
