package observe

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Span names. A stage's span is named for its stage ("probe", "encode"…).
const (
	NameRun        = "run"
	NameSegment    = "segment"
	NameInvocation = "invoke"
	NameFunction   = "function"
)

// Attribute keys of chunkcode's own; the Lambda ones use the OpenTelemetry
// semantic conventions (faas.*, cloud.*, aws.*) where they have a key.
const (
	KeyKind     = attribute.Key("chunkcode.span")    // a Kind
	KeyStage    = attribute.Key("chunkcode.stage")   // a stage span's stage
	KeyInput    = attribute.Key("chunkcode.input")   // the run's input
	KeyOutput   = attribute.Key("chunkcode.output")  // the run's output
	KeyBackend  = attribute.Key("chunkcode.backend") // "local", "lambda"
	KeyWorkers  = attribute.Key("chunkcode.workers")
	KeySegment  = attribute.Key("chunkcode.segment") // index from 1
	KeyFrames   = attribute.Key("chunkcode.frames")  // frames in the segment
	KeyAttempt  = attribute.Key("chunkcode.attempt") // from 1
	KeyWorker   = attribute.Key("chunkcode.worker")  // worker slot, from 1
	KeyBilledMS = attribute.Key("chunkcode.lambda.billed_duration_ms")
	KeyInitMS   = attribute.Key("chunkcode.lambda.init_duration_ms")
	KeyMemoryMB = attribute.Key("chunkcode.lambda.memory_mb")
)

// Kind says what a span stands for.
type Kind string

// The kinds of span a run has.
const (
	KindRun        Kind = "run"
	KindStage      Kind = "stage"
	KindAttempt    Kind = "attempt"
	KindInvocation Kind = "invocation"
	KindFunction   Kind = "function" // the function's side of an invocation
	KindOther      Kind = ""         // such as the function's download, ffmpeg, upload
)

// RunInfo describes a run for its span.
type RunInfo struct {
	Input, Output string
	Backend       string
	Workers       int
}

type recorderKey struct{}

// FromContext returns the Recorder of the run ctx is in (see Run), nil for
// none: a backend starts its invocation spans with it.
func FromContext(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// Run starts the run's span, the root of its trace (or a child of ctx's
// span, if it has one). The returned context carries r for FromContext.
func (r *Recorder) Run(ctx context.Context, info RunInfo) (context.Context, *Span) {
	if r == nil {
		return ctx, nil
	}
	ctx = context.WithValue(ctx, recorderKey{}, r)
	return r.start(ctx, NameRun, trace.SpanKindInternal, []attribute.KeyValue{
		KeyKind.String(string(KindRun)), KeyInput.String(info.Input), KeyOutput.String(info.Output),
		KeyBackend.String(info.Backend), KeyWorkers.Int(info.Workers),
	})
}

// Stage starts the span of a stage named stage: probe, plan, audio,
// staging, encode, merge or verify.
func (r *Recorder) Stage(ctx context.Context, stage string) (context.Context, *Span) {
	if r == nil {
		return ctx, nil
	}
	return r.start(ctx, stage, trace.SpanKindInternal, []attribute.KeyValue{
		KeyKind.String(string(KindStage)), KeyStage.String(stage),
	})
}

// Attempt describes one attempt at encoding a segment.
type Attempt struct {
	Segment int // index from 1
	Frames  int
	Backend string
	Number  int // attempt number, from 1
	Worker  int // worker slot, from 1 (see Slots)
}

// Attempt starts the span of a segment attempt. The returned context
// carries the segment for the log records (see NewLogger) even when r is
// nil.
func (r *Recorder) Attempt(ctx context.Context, a Attempt) (context.Context, *Span) {
	ctx = WithSegment(ctx, a.Segment)
	if r == nil {
		return ctx, nil
	}
	return r.start(ctx, NameSegment, trace.SpanKindInternal, []attribute.KeyValue{
		KeyKind.String(string(KindAttempt)), KeySegment.Int(a.Segment), KeyFrames.Int(a.Frames),
		KeyBackend.String(a.Backend), KeyAttempt.Int(a.Number), KeyWorker.Int(a.Worker),
	})
}

// Invocation describes a Lambda invocation as the client makes it.
type Invocation struct {
	Function string // the function's name or ARN
	Region   string
}

// Invocation starts the client span of a Lambda invocation; the job's
// carrier (Inject) must be made from the returned context, so that the
// function's spans are its children. Report adds what the invocation's
// REPORT line says.
func (r *Recorder) Invocation(ctx context.Context, inv Invocation) (context.Context, *Span) {
	if r == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{
		KeyKind.String(string(KindInvocation)),
		semconv.FaaSInvokedName(inv.Function), semconv.FaaSInvokedProviderAWS,
	}
	if inv.Region != "" {
		attrs = append(attrs, semconv.FaaSInvokedRegion(inv.Region))
	}
	return r.start(ctx, NameInvocation, trace.SpanKindClient, attrs)
}

// Report is what Lambda says of an invocation: its request ID (from the
// response) and its REPORT log line.
type Report struct {
	RequestID string
	Billed    time.Duration
	MemoryMB  int
	// Init is the REPORT line's Init Duration, present on a cold start only.
	Init time.Duration
}

// ColdStart says whether the invocation started a new execution
// environment.
func (rep Report) ColdStart() bool { return rep.Init > 0 }

// SetReport adds rep to an invocation's span: aws.request_id and
// faas.invocation_id, faas.coldstart, faas.max_memory (bytes), and the
// billed and init durations and memory, which have no convention, under
// chunkcode.lambda.*.
func (s *Span) SetReport(rep Report) {
	if s == nil {
		return
	}
	attrs := []attribute.KeyValue{semconv.FaaSColdstart(rep.ColdStart())}
	if rep.RequestID != "" {
		attrs = append(attrs, semconv.AWSRequestID(rep.RequestID), semconv.FaaSInvocationID(rep.RequestID))
	}
	if rep.Billed > 0 {
		attrs = append(attrs, KeyBilledMS.Int64(rep.Billed.Milliseconds()))
	}
	if rep.MemoryMB > 0 {
		attrs = append(attrs, KeyMemoryMB.Int(rep.MemoryMB), semconv.FaaSMaxMemory(rep.MemoryMB<<20))
	}
	if rep.Init > 0 {
		attrs = append(attrs, KeyInitMS.Int64(rep.Init.Milliseconds()))
	}
	s.s.SetAttributes(attrs...)
}

// Child starts a span named name under ctx's span, such as the function's
// download, ffmpeg and upload.
func (r *Recorder) Child(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, *Span) {
	if r == nil {
		return ctx, nil
	}
	return r.start(ctx, name, trace.SpanKindInternal, attrs)
}

// SpanData is an ended span, as Spans returns it and WriteChromeTrace and
// NewTimeline read it. Fields a span's kind does not have are zero.
type SpanData struct {
	Name     string
	Kind     Kind
	TraceID  string
	SpanID   string
	ParentID string // "" for a root span
	Start    time.Time
	End      time.Time
	Stage    string // KindStage
	Segment  int    // KindAttempt: index from 1
	Frames   int
	Attempt  int
	Worker   int    // KindAttempt: slot from 1
	Backend  string // KindRun, KindAttempt
	Err      string // the error status's description, "" when not an error
	Failed   bool   // the span has an error status
	Attrs    map[string]any
}

// Duration is how long the span took.
func (d SpanData) Duration() time.Duration { return d.End.Sub(d.Start) }

// spanData converts an SDK span.
func spanData(s sdktrace.ReadOnlySpan) SpanData {
	d := SpanData{
		Name: s.Name(), TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(),
		Start: s.StartTime(), End: s.EndTime(), Attrs: map[string]any{},
	}
	if p := s.Parent(); p.IsValid() {
		d.ParentID = p.SpanID().String()
	}
	if st := s.Status(); st.Code == codes.Error {
		d.Failed, d.Err = true, st.Description
	}
	for _, kv := range s.Attributes() {
		d.Attrs[string(kv.Key)] = kv.Value.AsInterface()
		switch kv.Key {
		case KeyKind:
			d.Kind = Kind(kv.Value.AsString())
		case KeyStage:
			d.Stage = kv.Value.AsString()
		case KeySegment:
			d.Segment = int(kv.Value.AsInt64())
		case KeyFrames:
			d.Frames = int(kv.Value.AsInt64())
		case KeyAttempt:
			d.Attempt = int(kv.Value.AsInt64())
		case KeyWorker:
			d.Worker = int(kv.Value.AsInt64())
		case KeyBackend:
			d.Backend = kv.Value.AsString()
		}
	}
	return d
}
