package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/internal/atomicfile"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel"
)

// shutdownTimeout bounds the export of a run's last spans at exit, after
// a failure or an interrupt too: a collector that does not answer cannot
// keep chunkcode alive.
const shutdownTimeout = 5 * time.Second

// observeOptions are the flags that say what a transcode records of itself
// besides its progress: a Chrome trace, a timeline and structured logs.
// OpenTelemetry export has no flags: the standard OTEL_* environment
// variables configure it (see observe.New).
type observeOptions struct {
	trace     string // --trace FILE
	timeline  string // --timeline FILE.svg
	logFormat string // --log-format
}

func (o *observeOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.trace, "trace", "", "write the run's spans to this file as Chrome trace-event JSON (Perfetto, chrome://tracing)")
	f.StringVar(&o.timeline, "timeline", "", "draw the run's timeline, a lane per worker and a bar per segment attempt, to this SVG file")
	f.StringVar(&o.logFormat, "log-format", "", "log to stderr as text or json records carrying the trace ID and segment, instead of the progress output")
}

// check reports the usage errors of the flags, naming them: a file that
// is one of the operands (INPUT, OUTPUT) or the other flag's would be
// overwritten.
func (o *observeOptions) check(input, output string) error {
	switch o.logFormat {
	case "", observe.LogText, observe.LogJSON:
	default:
		return usagef("--log-format: %q is not a log format; use %s or %s", o.logFormat, observe.LogText, observe.LogJSON)
	}
	if o.timeline != "" && !strings.EqualFold(filepath.Ext(o.timeline), ".svg") {
		return usagef("--timeline: %s does not end in .svg; the timeline is an SVG file", o.timeline)
	}
	type file struct{ flag, path string }
	files := []file{{"--trace", o.trace}, {"--timeline", o.timeline}}
	for i, f := range files {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Dir(f.path)); err != nil || !fi.IsDir() {
			return usagef("%s: directory %s does not exist", f.flag, filepath.Dir(f.path))
		}
		if fi, err := os.Stat(f.path); err == nil && fi.IsDir() {
			return usagef("%s: %s is a directory", f.flag, f.path)
		}
		for _, other := range []file{{"INPUT", input}, {"OUTPUT", output}, files[1-i]} {
			if other.path != "" && samePath(f.path, other.path) {
				return usagef("%s: %s is the %s too; give the %s a file of its own", f.flag, f.path, other.flag, strings.TrimPrefix(f.flag, "--"))
			}
		}
	}
	return nil
}

// samePath reports whether a and b name the same file: the same path once
// cleaned and made absolute, or the same existing file under two names.
func samePath(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// keep says whether the run's spans are kept in memory: for the files, and
// for the trace IDs of log records when no collector is configured.
func (o *observeOptions) keep() bool {
	return o.trace != "" || o.timeline != "" || o.logFormat != ""
}

// tracing is a command's recorder and what it does at exit.
type tracing struct {
	opts *observeOptions
	rec  *observe.Recorder // nil when nothing records

	mu        sync.Mutex
	exportErr error // the exporter's first error
}

// startTracing makes the command's recorder: it exports when the OTEL_*
// environment names a collector and keeps spans when the flags need them;
// with neither it is nil and nothing is dialled.
func (o *observeOptions) startTracing(ctx context.Context) (*tracing, error) {
	t := &tracing{opts: o}
	rec, err := observe.New(ctx, observe.Options{Service: "chunkcode", Version: buildVersion(), Keep: o.keep()})
	if err != nil {
		return nil, err
	}
	t.rec = rec
	if rec.Exporting() {
		// The SDK would log each failed export on stderr, through the
		// progress line; finish reports the first as one warning.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.exportErr == nil {
				t.exportErr = err
			}
		}))
	}
	return t, nil
}

// finish exports the spans not yet exported, within shutdownTimeout even
// when ctx is done, and writes --trace and --timeline from the spans the
// run ended, whether it succeeded or not. It returns the error of a file
// it could not write; an export that failed is a warning on warn.
func (t *tracing) finish(ctx context.Context, warn func(error)) error {
	if t == nil || t.rec == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := t.rec.Shutdown(sctx)
	t.mu.Lock()
	if err == nil {
		err = t.exportErr
	}
	t.mu.Unlock()
	if err != nil {
		warn(fmt.Errorf("export traces: %w", err))
	}
	spans := t.rec.Spans()
	var errs []error
	if t.opts.trace != "" {
		if err := atomicfile.WriteFile(t.opts.trace, 0o644, func(w io.Writer) error {
			return observe.WriteChromeTrace(w, spans)
		}); err != nil {
			errs = append(errs, fmt.Errorf("write trace %s: %w", t.opts.trace, err))
		}
	}
	if t.opts.timeline != "" {
		if err := atomicfile.WriteFile(t.opts.timeline, 0o644, observe.NewTimeline(spans).WriteSVG); err != nil {
			errs = append(errs, fmt.Errorf("write timeline %s: %w", t.opts.timeline, err))
		}
	}
	return errors.Join(errs...)
}

// end finishes t at the end of a command that returns err, and returns
// what the command returns then: a run that succeeded prints an export
// that failed as a warning on stderr, or logs it, and fails if a file
// could not be written; a run that failed keeps its error, logged as a
// record too with --log-format, and adds the warning to it.
func (t *tracing) end(ctx context.Context, err error, stderr io.Writer, logs *eventLog) error {
	var warnings []error
	ferr := t.finish(ctx, func(w error) { warnings = append(warnings, w) })
	if err == nil {
		for _, w := range warnings {
			if logs != nil {
				logs.event(transcode.Event{Kind: transcode.EventWarning, Err: w})
			} else {
				fmt.Fprintln(stderr, "warning: "+oneLine(w.Error()))
			}
		}
		return ferr
	}
	if logs != nil {
		// Besides the line main prints, for whatever reads the records.
		logs.failed(err, exitCode(ctx, err))
	}
	if we := (*warnedError)(nil); errors.As(err, &we) {
		we.warnings = append(we.warnings, warnings...)
	} else if len(warnings) > 0 {
		err = &warnedError{err: err, warnings: warnings}
	}
	return err
}

// newLogger returns the --log-format logger on w, or nil without the
// flag. --quiet logs warnings and errors only; --verbose adds the command
// lines, at debug level.
func (o *observeOptions) newLogger(w io.Writer, p progressOptions) *slog.Logger {
	if o.logFormat == "" {
		return nil
	}
	level := slog.LevelInfo
	switch {
	case p.quiet:
		level = slog.LevelWarn
	case p.verbose:
		level = slog.LevelDebug
	}
	l, _ := observe.NewLogger(w, o.logFormat, level) // checked by check
	return l
}

// eventLog logs a transcode's events as records, each with the run's trace
// ID and, for a segment's, the segment from 1. Frame counts are not
// logged: the segments' records say the same, less often.
type eventLog struct {
	log *slog.Logger

	mu        sync.Mutex
	traceID   string // the last event's
	audioDone bool
}

// newEventLog returns the log of a run's events on l; with --verbose it
// has runner log every command line, with the trace ID the events gave.
func newEventLog(l *slog.Logger, d *deps, verbose bool) *eventLog {
	el := &eventLog{log: l}
	if verbose {
		d.runner.Trace = func(env, argv []string) {
			el.log.LogAttrs(context.Background(), slog.LevelDebug, "run", append(el.trace(), slog.String("command", shellJoin(append(slices.Clip(env), argv...))))...)
		}
	}
	return el
}

// trace is the trace ID attribute of the run's records, none before the
// first event or when the run is not traced.
func (l *eventLog) trace() []slog.Attr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.traceID == "" {
		return nil
	}
	return []slog.Attr{slog.String(observe.LogTraceID, l.traceID)}
}

func (l *eventLog) event(e transcode.Event) {
	if e.TraceID != "" {
		l.mu.Lock()
		l.traceID = e.TraceID
		l.mu.Unlock()
	}
	attrs := l.trace()
	segment := func() {
		attrs = append(attrs, slog.Int(observe.LogSegment, e.Segment.Index+1))
	}
	level, msg := slog.LevelInfo, ""
	switch e.Kind {
	case transcode.EventPlanned:
		s := e.Summary
		msg = "planned"
		attrs = append(attrs, slog.String("input", s.Input), slog.Int("frames", s.Frames), slog.Float64("duration_seconds", s.Duration),
			slog.Int("segments", s.Segments), slog.Int("keyframe_cuts", s.KeyframeCuts), slog.Int("workers", s.Workers),
			slog.String("backend", string(s.Backend)))
	case transcode.EventStage:
		msg = "stage"
		attrs = append(attrs, slog.String("stage", string(e.Stage)))
	case transcode.EventSegment:
		msg = "segment done"
		segment()
		attrs = append(attrs, slog.Int("frames", e.Segment.Frames), slog.Float64("encode_seconds", e.Result.EncodeSeconds))
		if e.Resumed {
			attrs = append(attrs, slog.Bool("resumed", true))
		}
	case transcode.EventRetry:
		level, msg = slog.LevelWarn, "segment failed, retrying"
		segment()
		attrs = append(attrs, slog.String("error", oneLine(e.Err.Error())))
	case transcode.EventWarning:
		level, msg = slog.LevelWarn, "warning"
		attrs = append(attrs, slog.String("error", oneLine(e.Err.Error())))
	case transcode.EventAudio:
		l.mu.Lock()
		first := e.Seconds >= e.Total && !l.audioDone
		l.audioDone = l.audioDone || first
		l.mu.Unlock()
		if !first {
			return
		}
		msg = "audio done"
		attrs = append(attrs, slog.Float64("seconds", e.Total))
	default:
		return
	}
	l.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// done logs the summary of a run that succeeded.
func (l *eventLog) done(sum *transcode.Summary) {
	attrs := []slog.Attr{
		slog.String("output", sum.Output), slog.Int("frames", sum.Frames), slog.Int("segments", sum.Segments),
		slog.Float64("wall_seconds", sum.WallSeconds), slog.Float64("speed_x_realtime", sum.Speed),
		slog.Int("retries", sum.Retries), slog.Float64("utilization", sum.Utilization), slog.Float64("tail_seconds", sum.TailSeconds),
	}
	if sum.TraceID != "" {
		attrs = append([]slog.Attr{slog.String(observe.LogTraceID, sum.TraceID)}, attrs...)
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "done", attrs...)
}

// failed logs the error that ended a run with code, with the run's trace
// ID.
func (l *eventLog) failed(err error, code int) {
	l.log.LogAttrs(context.Background(), slog.LevelError, "failed",
		append(l.trace(), slog.String("error", errorMessage(err, code)), slog.Int("exit_code", code))...)
}
