package lambda_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/internal/jaegertest"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJaegerEmulators runs `chunkcode transcode --backend lambda` on two
// real Lambda emulators, each failing its first invocation, with the
// command and the functions exporting to a real Jaeger: the run is one
// trace; every invocation span carries its request ID; the function's
// spans, exported by the function process under the emulator, share the
// trace ID and are children of the invocation spans; the failed attempts
// have an error status, as do their invocations and functions; the
// command's log names the failed invocations' request IDs; its timeline
// draws the failed attempts; and the function logs JSON records with the
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
	dir := t.TempDir()
	timeline := filepath.Join(dir, "run.svg")
	cmd := exec.Command(lambdatest.Chunkcode(t), "transcode", "--backend", "lambda", "--bucket", s3.Bucket,
		"--lambda-endpoint", fns.Endpoints[0], "--lambda-endpoint", fns.Endpoints[1], "--threads", "1",
		"--segment-duration", "0.5", "--prefix", "trace-test/", "--json", "--log-format", "json", "--timeline", timeline,
		in, filepath.Join(dir, "out.mp4"))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OTEL_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, s3.Env()...)
	cmd.Env = append(cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT="+jaeger.OTLPEndpoint, "OTEL_SERVICE_NAME="+service)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s\n%s", stderr.String(), fns.Logs())
	var sum transcode.Summary
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &sum))
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
	failedRequests := map[string]bool{}
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
			if s.Error {
				failedRequests[s.Tags["aws.request_id"].(string)] = true
			}
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

	// The command's records of the retries name the failed invocations.
	named := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "a JSON record: %s", l)
		assert.Equal(t, sum.TraceID, rec["trace_id"], "record %s", l)
		if rec["msg"] == "segment failed, retrying" {
			assert.Positive(t, rec["segment"])
			m := regexp.MustCompile(`\(request ID ([0-9a-f-]+)\)`).FindStringSubmatch(rec["error"].(string))
			if assert.NotNil(t, m, "record %s names the request ID", l) {
				named[m[1]] = true
			}
		}
	}
	assert.Equal(t, failedRequests, named, "request IDs the log names are the failed invocations'")

	// The timeline draws a bar per attempt, the failed ones as such.
	b, err := os.ReadFile(timeline)
	require.NoError(t, err)
	assert.Equal(t, sum.Segments+failures, strings.Count(string(b), "data-segment="), "a bar per attempt")
	assert.Equal(t, failures, strings.Count(string(b), `class="bar failed"`), "failed attempts")

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
