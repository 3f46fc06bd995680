package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/transcode/observe"
	"go.opentelemetry.io/otel/trace"
)

// clearEnv unsets, for the test, every variable that configures tracing.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		observe.EnvEndpoint, observe.EnvTracesEndpoint, observe.EnvProtocol, observe.EnvTracesProtocol,
		observe.EnvTracesExporter, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", observe.EnvXRay,
	} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// record makes the spans of a small run on r: two stages, a segment whose
// first attempt fails, with an invocation each.
func record(ctx context.Context, r *observe.Recorder) {
	ctx, run := r.Run(ctx, observe.RunInfo{Input: "in.mp4", Output: "out.mp4", Backend: "lambda", Workers: 2})
	_, probe := r.Stage(ctx, "probe")
	probe.End(nil)
	ectx, enc := r.Stage(ctx, "encode")
	for n := 1; n <= 2; n++ {
		actx, a := r.Attempt(ectx, observe.Attempt{Segment: 1, Frames: 30, Backend: "lambda", Number: n, Worker: 1})
		// As a backend does, with only the context.
		_, inv := observe.FromContext(actx).Invocation(actx, observe.Invocation{Function: "chunkcode", Region: "us-east-1"})
		inv.SetReport(observe.Report{RequestID: "req-" + string(rune('0'+n)), Billed: 120 * time.Millisecond, MemoryMB: 1024, Init: 80 * time.Millisecond})
		var err error
		if n == 1 {
			err = errors.New("ffmpeg exited with status 1")
		}
		inv.End(err)
		a.End(err)
	}
	enc.End(nil)
	run.End(nil)
}

func TestNewWithoutEndpointMakesNoExporter(t *testing.T) {
	clearEnv(t)
	r, err := observe.New(t.Context(), observe.Options{})
	if err != nil || r != nil {
		t.Fatalf("New with nothing set and nothing kept = %v, %v; want nil, nil", r, err)
	}
	// A nil Recorder records nothing, and says so.
	record(t.Context(), r)
	if r.Exporting() || r.Spans() != nil || r.Flush(t.Context()) != nil || r.Shutdown(t.Context()) != nil {
		t.Error("a nil Recorder did something")
	}
	if observe.Inject(t.Context()) != nil {
		t.Error("Inject without a span returned a carrier")
	}

	r, err = observe.New(t.Context(), observe.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Exporting() {
		t.Error("Keep alone made an OTLP exporter")
	}
}

// TestNoEndpointDialsNothing listens on OTLP/HTTP's default port, where an
// exporter with no endpoint set would send, and checks that a run with
// spans kept but no endpoint never connects.
func TestNoEndpointDialsNothing(t *testing.T) {
	clearEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:4318")
	if err != nil {
		t.Skipf("OTLP's default port is taken, so this test cannot watch it: %v", err)
	}
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	defer ln.Close()

	r, err := observe.New(t.Context(), observe.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	record(t.Context(), r)
	if err := r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections to 127.0.0.1:4318 with no endpoint set", n)
	}
	if got := len(r.Spans()); got != 7 {
		t.Errorf("kept %d spans, want 7", got)
	}
}

func TestEndpointExports(t *testing.T) {
	for _, env := range []string{observe.EnvEndpoint, observe.EnvTracesEndpoint} {
		t.Run(env, func(t *testing.T) {
			clearEnv(t)
			var posts atomic.Int32
			var path atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				posts.Add(1)
				path.Store(req.URL.Path)
				w.Header().Set("Content-Type", "application/x-protobuf")
			}))
			defer srv.Close()
			want := "/v1/traces"
			if env == observe.EnvTracesEndpoint {
				want = "/custom/traces" // used as is
				t.Setenv(env, srv.URL+want)
			} else {
				t.Setenv(env, srv.URL)
			}

			r, err := observe.New(t.Context(), observe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Exporting() {
				t.Fatal("no exporter with an endpoint set")
			}
			record(t.Context(), r)
			if err := r.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if posts.Load() == 0 {
				t.Fatalf("the collector at %s received nothing", srv.URL)
			}
			if got := path.Load(); got != want {
				t.Errorf("exported to %s, want %s", got, want)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	t.Run("grpc is refused", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(observe.EnvEndpoint, "http://127.0.0.1:1")
		t.Setenv(observe.EnvProtocol, "grpc")
		if _, err := observe.New(t.Context(), observe.Options{}); !errors.Is(err, observe.ErrProtocol) {
			t.Errorf("New with grpc = %v, want ErrProtocol", err)
		}
	})
	t.Run("OTEL_TRACES_EXPORTER=none", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(observe.EnvEndpoint, "http://127.0.0.1:1")
		t.Setenv(observe.EnvTracesExporter, "none")
		if r, err := observe.New(t.Context(), observe.Options{}); r != nil || err != nil {
			t.Errorf("New = %v, %v; want nil, nil", r, err)
		}
	})
	t.Run("OTEL_TRACES_SAMPLER=always_off", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
		r, err := observe.New(t.Context(), observe.Options{Keep: true})
		if err != nil {
			t.Fatal(err)
		}
		record(t.Context(), r)
		if n := len(r.Spans()); n != 0 {
			t.Errorf("kept %d spans with the sampler off", n)
		}
	})
}

func TestSpans(t *testing.T) {
	clearEnv(t)
	r, err := observe.New(t.Context(), observe.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	record(t.Context(), r)
	spans := r.Spans()
	byID := map[string]observe.SpanData{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	var run observe.SpanData
	var attempts, invocations int
	for _, s := range spans {
		if s.TraceID != spans[0].TraceID {
			t.Errorf("span %s in trace %s, want one trace %s", s.Name, s.TraceID, spans[0].TraceID)
		}
		switch s.Kind {
		case observe.KindRun:
			run = s
		case observe.KindAttempt:
			attempts++
			if p := byID[s.ParentID]; p.Stage != "encode" {
				t.Errorf("attempt %d's parent is %q, want the encode stage", s.Attempt, p.Name)
			}
			if s.Segment != 1 || s.Frames != 30 || s.Worker != 1 || s.Backend != "lambda" {
				t.Errorf("attempt = %+v", s)
			}
			if s.Failed != (s.Attempt == 1) {
				t.Errorf("attempt %d failed = %v", s.Attempt, s.Failed)
			}
		case observe.KindInvocation:
			invocations++
			for k, want := range map[string]any{
				"aws.request_id": "req-" + string(rune('0'+invocations)), "faas.coldstart": true,
				"faas.max_memory": int64(1 << 30), "chunkcode.lambda.billed_duration_ms": int64(120),
				"chunkcode.lambda.init_duration_ms": int64(80), "faas.invoked_name": "chunkcode",
			} {
				if got := s.Attrs[k]; got != want {
					t.Errorf("invocation %s = %v (%T), want %v", k, got, got, want)
				}
			}
		}
	}
	if run.SpanID == "" || run.ParentID != "" || run.Backend != "lambda" {
		t.Errorf("run span = %+v", run)
	}
	if attempts != 2 || invocations != 2 {
		t.Errorf("%d attempts and %d invocations, want 2 and 2", attempts, invocations)
	}
}

func TestPropagation(t *testing.T) {
	clearEnv(t)
	client, err := observe.New(t.Context(), observe.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	function, err := observe.New(t.Context(), observe.Options{Keep: true, Service: "chunkcode-function"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, inv := client.Invocation(t.Context(), observe.Invocation{Function: "f"})
	carrier := observe.Inject(ctx)
	if carrier["traceparent"] == "" {
		t.Fatalf("carrier = %v, want a traceparent", carrier)
	}
	// The job crosses the wire as JSON.
	b, _ := json.Marshal(carrier)
	var got map[string]string
	json.Unmarshal(b, &got)

	const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
	fctx, fn := function.Function(t.Context(), got, observe.Function{Name: "f", RequestID: "r1", ColdStart: true, MemoryMB: 512, XRay: xray})
	_, ff := function.Child(fctx, "ffmpeg")
	ff.End(nil)
	fn.End(nil)
	inv.End(nil)

	invSpan := client.Spans()[0]
	fs := function.Spans()
	if len(fs) != 2 {
		t.Fatalf("function kept %d spans, want 2", len(fs))
	}
	ffmpeg, fnSpan := fs[0], fs[1]
	if fnSpan.TraceID != invSpan.TraceID || fnSpan.ParentID != invSpan.SpanID {
		t.Errorf("function span in trace %s under %s, want trace %s under the invocation %s",
			fnSpan.TraceID, fnSpan.ParentID, invSpan.TraceID, invSpan.SpanID)
	}
	if ffmpeg.ParentID != fnSpan.SpanID {
		t.Errorf("ffmpeg's parent is %s, want the function span %s", ffmpeg.ParentID, fnSpan.SpanID)
	}
	if fnSpan.Attrs["faas.invocation_id"] != "r1" || fnSpan.Attrs["faas.coldstart"] != true || fnSpan.Attrs["cloud.provider"] != "aws" {
		t.Errorf("function attributes = %v", fnSpan.Attrs)
	}

	// With no carrier, the X-Ray trace is still only a link.
	_, root := function.Function(t.Context(), nil, observe.Function{XRay: xray})
	root.End(nil)
	fs = function.Spans()
	if s := fs[len(fs)-1]; s.ParentID != "" || s.TraceID == "5759e988bd862e3fe1be46a994272793" {
		t.Errorf("without a carrier the function span is in trace %s under %q, want a new root", s.TraceID, s.ParentID)
	}
}

func TestXRay(t *testing.T) {
	for _, tc := range []struct {
		name, header  string
		ok            bool
		trace, parent string
		sampled       bool
	}{
		{"sampled", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", true, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true},
		{"not sampled, with lineage", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a:1", true, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", false},
		{"no parent", "Root=1-5759e988-bd862e3fe1be46a994272793", false, "", "", false},
		{"bad root", "Root=2-5759e988-bd86;Parent=53995c3f42cd8ad8", false, "", "", false},
		{"empty", "", false, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, ok := observe.XRay(tc.header)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if sc.TraceID().String() != tc.trace || sc.SpanID().String() != tc.parent || sc.IsSampled() != tc.sampled || !sc.IsRemote() {
				t.Errorf("XRay = %s %s sampled=%v remote=%v", sc.TraceID(), sc.SpanID(), sc.IsSampled(), sc.IsRemote())
			}
		})
	}
}

func TestLogger(t *testing.T) {
	clearEnv(t)
	r, err := observe.New(t.Context(), observe.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log, err := observe.NewLogger(&buf, observe.LogJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, run := r.Run(t.Context(), observe.RunInfo{})
	actx, a := r.Attempt(ctx, observe.Attempt{Segment: 3, Number: 1, Worker: 2})
	log.InfoContext(actx, "encoded", "frames", 30)
	a.End(nil)
	log.InfoContext(ctx, "merged")
	run.End(nil)
	log.Info("done")

	dec := json.NewDecoder(&buf)
	var recs []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	tid := trace.SpanContextFromContext(ctx).TraceID().String()
	if recs[0]["trace_id"] != tid || recs[0]["segment"] != float64(3) || recs[0]["span_id"] == nil {
		t.Errorf("segment record = %v, want trace_id %s and segment 3", recs[0], tid)
	}
	if recs[1]["trace_id"] != tid || recs[1]["segment"] != nil {
		t.Errorf("run record = %v, want trace_id %s and no segment", recs[1], tid)
	}
	if recs[2]["trace_id"] != nil {
		t.Errorf("record without a context = %v, want no trace_id", recs[2])
	}

	// Without a Recorder, records still carry the segment.
	buf.Reset()
	var none *observe.Recorder
	actx, _ = none.Attempt(t.Context(), observe.Attempt{Segment: 4})
	text, _ := observe.NewLogger(&buf, observe.LogText, nil)
	text.InfoContext(actx, "encoded")
	if !bytes.Contains(buf.Bytes(), []byte("segment=4")) || bytes.Contains(buf.Bytes(), []byte("trace_id")) {
		t.Errorf("text record = %q", buf.String())
	}
	if _, err := observe.NewLogger(&buf, "xml", nil); err == nil {
		t.Error("NewLogger accepted xml")
	}
}

func TestSlots(t *testing.T) {
	s := observe.NewSlots(3)
	a, b := s.Take(), s.Take()
	s.Put(a)
	c, d := s.Take(), s.Take()
	got := map[int]bool{a: true, b: true, c: true, d: true}
	if len(got) != 3 || !got[1] || !got[2] || !got[3] {
		t.Errorf("slots taken %d %d %d %d, want 1…3", a, b, c, d)
	}
}
