package observe_test

import (
	"errors"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/jaegertest"
	"github.com/chunkcode/chunkcode/transcode/observe"
)

// TestJaeger exports a run's spans, and a function's across a carrier as a
// Lambda job carries them, to a real Jaeger over OTLP/HTTP, and reads them
// back from its query API: one trace, the stage, segment and invocation
// spans with their parents, the function's under the invocation's, and the
// failed attempt with an error status.
func TestJaeger(t *testing.T) {
	jaeger := jaegertest.Start(t)
	clearEnv(t)
	t.Setenv(observe.EnvEndpoint, jaeger.OTLPEndpoint)
	t.Setenv("OTEL_SERVICE_NAME", "chunkcode-jaeger-test")
	client, err := observe.New(t.Context(), observe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The function reads the same variables; its default service name
	// differs from the client's, so unset the one set above for it.
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	function, err := observe.New(t.Context(), observe.Options{Service: "chunkcode-function"})
	if err != nil {
		t.Fatal(err)
	}

	ctx, run := client.Run(t.Context(), observe.RunInfo{Input: "in.mp4", Output: "out.mp4", Backend: "lambda", Workers: 1})
	_, probe := client.Stage(ctx, "probe")
	probe.End(nil)
	ectx, enc := client.Stage(ctx, "encode")
	for n := 1; n <= 2; n++ {
		actx, a := client.Attempt(ectx, observe.Attempt{Segment: 1, Frames: 30, Backend: "lambda", Number: n, Worker: 1})
		ictx, inv := client.Invocation(actx, observe.Invocation{Function: "chunkcode", Region: "us-east-1"})
		carrier := observe.Inject(ictx)

		// The function's side.
		requestID := []string{"", "req-1", "req-2"}[n]
		fctx, fn := function.Function(t.Context(), carrier, observe.Function{Name: "chunkcode", RequestID: requestID, ColdStart: n == 1, MemoryMB: 1024})
		_, ff := function.Child(fctx, "ffmpeg")
		var err error
		if n == 1 {
			err = errors.New("ffmpeg exited with status 1")
		}
		ff.End(err)
		fn.End(err)
		if err := function.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}

		inv.SetReport(observe.Report{RequestID: requestID, Billed: 300 * time.Millisecond, MemoryMB: 1024})
		inv.End(err)
		a.End(err)
	}
	enc.End(nil)
	run.End(nil)
	for _, r := range []*observe.Recorder{client, function} {
		if err := r.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	// run, probe, encode, 2 × (segment, invoke, function, ffmpeg)
	traces := jaeger.WaitSpans(t, "chunkcode-jaeger-test", 11)
	if len(traces) != 1 {
		t.Fatalf("%d traces, want 1", len(traces))
	}
	tr := traces[0]
	byID := map[string]jaegertest.Span{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
		t.Logf("%s %-8s parent=%-16s service=%s error=%v request=%v", s.SpanID, s.Name, s.ParentID, s.Service, s.Error, s.Tags["aws.request_id"])
	}
	parent := func(s jaegertest.Span) string { return byID[s.ParentID].Name }
	count := map[string]int{}
	for _, s := range tr.Spans {
		count[s.Name]++
		if s.TraceID != tr.ID {
			t.Errorf("span %s in trace %s, want %s", s.Name, s.TraceID, tr.ID)
		}
		want := map[string]string{
			"run": "", "probe": "run", "encode": "run", "segment": "encode",
			"invoke": "segment", "function": "invoke", "ffmpeg": "function",
		}[s.Name]
		if got := parent(s); got != want {
			t.Errorf("%s's parent is %q, want %q", s.Name, got, want)
		}
		wantService := "chunkcode-jaeger-test"
		if s.Name == "function" || s.Name == "ffmpeg" {
			wantService = "chunkcode-function"
		}
		if s.Service != wantService {
			t.Errorf("%s is from service %q, want %q", s.Name, s.Service, wantService)
		}
		switch s.Name {
		case "segment":
			attempt := s.Tags["chunkcode.attempt"].(float64)
			if s.Error != (attempt == 1) {
				t.Errorf("attempt %v has error %v", attempt, s.Error)
			}
			if s.Tags["chunkcode.segment"] != float64(1) || s.Tags["chunkcode.worker"] != float64(1) {
				t.Errorf("segment tags = %v", s.Tags)
			}
		case "invoke":
			id, _ := s.Tags["aws.request_id"].(string)
			if id == "" || s.Tags["faas.invoked_provider"] != "aws" || s.Tags["chunkcode.lambda.billed_duration_ms"] != float64(300) {
				t.Errorf("invocation tags = %v", s.Tags)
			}
			if s.Error != (id == "req-1") {
				t.Errorf("invocation %s has error %v", id, s.Error)
			}
		case "function":
			if s.Tags["faas.invocation_id"] != byID[s.ParentID].Tags["aws.request_id"] {
				t.Errorf("function %v under invocation %v", s.Tags["faas.invocation_id"], byID[s.ParentID].Tags["aws.request_id"])
			}
		}
	}
	for name, want := range map[string]int{"run": 1, "probe": 1, "encode": 1, "segment": 2, "invoke": 2, "function": 2, "ffmpeg": 2} {
		if count[name] != want {
			t.Errorf("%d %s spans, want %d", count[name], name, want)
		}
	}
}
