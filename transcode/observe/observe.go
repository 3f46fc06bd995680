// Package observe records the spans of a run: the run, its stages, each
// segment attempt and each Lambda invocation. It exports them over OTLP when
// the standard OpenTelemetry environment variables name a collector, and
// keeps them for a Chrome trace (WriteChromeTrace) and a Gantt chart
// (Timeline) when asked.
//
// The pipeline holds one *Recorder per run. A nil *Recorder is valid and
// records nothing, so a run with tracing off makes no spans and dials
// nothing.
package observe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Environment variables New reads. The OTLP exporter and the SDK read the
// rest of the standard ones themselves: OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
)

// ErrProtocol is returned by New when the environment asks for an OTLP
// protocol other than http/protobuf.
var ErrProtocol = errors.New("unsupported OTLP protocol (chunkcode exports http/protobuf)")

// Options configure a Recorder. Everything about the collector comes from
// the environment, never from here.
type Options struct {
	// Service is service.name when neither OTEL_SERVICE_NAME nor
	// OTEL_RESOURCE_ATTRIBUTES names one; "chunkcode" when empty.
	Service string
	// Version is service.version, when not empty.
	Version string
	// Keep keeps every ended span for Spans, which --trace, --timeline
	// and the summary's utilization read. Set it too for --log-format, so
	// log records carry trace IDs without a collector.
	Keep bool
}

// A Recorder makes the spans of runs: it is safe for concurrent use, and a
// nil *Recorder is valid and records nothing.
type Recorder struct {
	provider  *sdktrace.TracerProvider
	tracer    trace.Tracer
	kept      *keeper // nil unless Options.Keep
	exporting bool
}

// New returns a Recorder that exports over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set
// (and OTEL_TRACES_EXPORTER is not "none"), and keeps spans when
// opts.Keep. With neither it returns nil: no exporter is made and nothing is
// dialled. The exporter dials only when it first sends, after spans end.
func New(ctx context.Context, opts Options) (*Recorder, error) {
	export := endpointSet() && os.Getenv(EnvTracesExporter) != "none"
	if !export && !opts.Keep {
		return nil, nil
	}
	if export {
		p := os.Getenv(EnvTracesProtocol)
		if p == "" {
			p = os.Getenv(EnvProtocol)
		}
		if p != "" && p != "http/protobuf" {
			return nil, fmt.Errorf("%s=%s: %w", EnvProtocol, p, ErrProtocol)
		}
	}
	service := opts.Service
	if service == "" {
		service = "chunkcode"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(service)}
	if opts.Version != "" {
		attrs = append(attrs, semconv.ServiceVersion(opts.Version))
	}
	// Later detectors win: the environment overrides the defaults.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	popts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	r := &Recorder{}
	if export {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("create OTLP exporter: %w", err)
		}
		popts = append(popts, sdktrace.WithBatcher(exp))
		r.exporting = true
	}
	if opts.Keep {
		r.kept = &keeper{}
		popts = append(popts, sdktrace.WithSpanProcessor(r.kept))
	}
	r.provider = sdktrace.NewTracerProvider(popts...)
	r.tracer = r.provider.Tracer("github.com/chunkcode/chunkcode/transcode/observe")
	return r, nil
}

// endpointSet says whether the environment names an OTLP collector.
func endpointSet() bool {
	return os.Getenv(EnvTracesEndpoint) != "" || os.Getenv(EnvEndpoint) != ""
}

// Exporting says whether r exports over OTLP.
func (r *Recorder) Exporting() bool { return r != nil && r.exporting }

// Flush exports the spans ended so far. A Lambda function calls it before
// returning from each invocation, as it may be frozen after.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.provider.ForceFlush(ctx)
}

// Shutdown flushes and stops the exporter; spans started after it are not
// recorded. Spans stays readable.
func (r *Recorder) Shutdown(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.provider.Shutdown(ctx)
}

// Spans returns the ended spans, in the order they ended; nil unless the
// Recorder was made with Options.Keep.
func (r *Recorder) Spans() []SpanData {
	if r == nil || r.kept == nil {
		return nil
	}
	return r.kept.spans()
}

// start starts a span named name, a child of ctx's span.
func (r *Recorder) start(ctx context.Context, name string, kind trace.SpanKind, attrs []attribute.KeyValue, links ...trace.Link) (context.Context, *Span) {
	ctx, s := r.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...), trace.WithLinks(links...))
	return ctx, &Span{s: s}
}

// Span is a span in progress. A nil *Span is valid: its methods do nothing.
type Span struct{ s trace.Span }

// End ends the span; a non-nil err gives it an error status and an
// exception event. It must be called once.
func (s *Span) End(err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.s.RecordError(err)
		s.s.SetStatus(codes.Error, err.Error())
	}
	s.s.End()
}

// SetAttributes adds attributes to the span.
func (s *Span) SetAttributes(kv ...attribute.KeyValue) {
	if s == nil {
		return
	}
	s.s.SetAttributes(kv...)
}

// TraceID is the span's trace ID in hex, "" for a nil Span.
func (s *Span) TraceID() string {
	if s == nil {
		return ""
	}
	return s.s.SpanContext().TraceID().String()
}

// keeper is a span processor that keeps ended spans in memory.
type keeper struct {
	mu    sync.Mutex
	ended []SpanData
}

var _ sdktrace.SpanProcessor = (*keeper)(nil)

func (k *keeper) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (k *keeper) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	d := spanData(s)
	k.mu.Lock()
	k.ended = append(k.ended, d)
	k.mu.Unlock()
}

func (k *keeper) Shutdown(context.Context) error   { return nil }
func (k *keeper) ForceFlush(context.Context) error { return nil }

func (k *keeper) spans() []SpanData {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]SpanData(nil), k.ended...)
}
