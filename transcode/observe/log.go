package observe

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log record keys the Handler adds.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
	LogSegment = "segment"
)

type segmentKey struct{}

// WithSegment returns ctx carrying a segment's index (from 1) for log
// records.
func WithSegment(ctx context.Context, segment int) context.Context {
	return context.WithValue(ctx, segmentKey{}, segment)
}

// SegmentFrom returns the segment ctx carries, 0 for none.
func SegmentFrom(ctx context.Context) int {
	n, _ := ctx.Value(segmentKey{}).(int)
	return n
}

// Handler is a slog.Handler that adds to each record the trace_id and
// span_id of the span in its context, and the segment (WithSegment), when
// there are, then hands it to the handler it wraps. Records logged with
// the Context variants (slog.InfoContext…) carry them; with WithGroup, they
// land in the group.
type Handler struct{ inner slog.Handler }

var _ slog.Handler = Handler{}

// NewHandler wraps inner.
func NewHandler(inner slog.Handler) Handler { return Handler{inner: inner} }

func (h Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h Handler) Handle(ctx context.Context, rec slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		rec.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
	}
	if n := SegmentFrom(ctx); n > 0 {
		rec.AddAttrs(slog.Int(LogSegment, n))
	}
	return h.inner.Handle(ctx, rec)
}

func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{inner: h.inner.WithAttrs(attrs)}
}

func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{inner: h.inner.WithGroup(name)}
}

// The values of --log-format.
const (
	LogText = "text"
	LogJSON = "json"
)

// NewLogger returns a logger writing to w (stderr, for --log-format) in
// format, LogText or LogJSON, at level and above, through a Handler.
func NewLogger(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case LogText:
		h = slog.NewTextHandler(w, opts)
	case LogJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want %s or %s", format, LogText, LogJSON)
	}
	return slog.New(NewHandler(h)), nil
}
