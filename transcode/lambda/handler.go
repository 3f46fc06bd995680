package lambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"go.opentelemetry.io/otel/attribute"
)

// Environment variables the handler reads.
const (
	// EnvAllowHTTP set to 1 lets the handler read and write plain http
	// URLs, for the local emulator. Never set it on AWS.
	EnvAllowHTTP = "CHUNKCODE_ALLOW_HTTP"
	// EnvS3Endpoint names an S3 endpoint the handler accepts URLs on
	// besides AWS's own (see Handler.S3Endpoint), for an S3-compatible
	// server; the local emulator setup sets it to 127.0.0.1.
	EnvS3Endpoint = "CHUNKCODE_S3_ENDPOINT"
	// EnvTestFault injects failures for the end-to-end tests into a
	// function built with -tags chunkcode_faults (see faults.go); only the
	// test harness sets it, and any other build ignores it.
	EnvTestFault = "CHUNKCODE_TEST_FAULT"
	// EnvRuntimeAPI is set by Lambda and the emulator when they start the
	// function.
	EnvRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"
)

// maxURL is the longest URL a request may carry.
const maxURL = 8 << 10

// ioTimeout bounds how long ffmpeg waits on a stalled read of the source.
const ioTimeout = 60 * time.Second

// Handler encodes one segment per invocation. Create it with NewHandler.
// It is safe for concurrent use, though Lambda sends one invocation at a
// time.
type Handler struct {
	Runner ffmpeg.Runner
	// AllowHTTP accepts http URLs besides https.
	AllowHTTP bool
	// S3Endpoint is a host, host:port or URL whose host the handler
	// accepts in source, result and progress URLs besides S3's on AWS
	// (any host under amazonaws.com or amazonaws.com.cn). Without a port
	// it matches the host on every port.
	S3Endpoint string
	// TempDir holds, in JobsDir(TempDir, Function), a directory for each
	// invocation's files while it runs; "" is os.TempDir().
	TempDir string
	// Function is the function's name, which names its jobs' directory;
	// NewHandler takes it from AWS_LAMBDA_FUNCTION_NAME.
	Function string
	// CAFile is the bundle of certificate authorities ffmpeg verifies an
	// https source's certificate against; "" is the first of CAFiles that
	// exists.
	CAFile string
	// Client uploads results; nil is http.DefaultClient. Whichever it
	// is, the handler follows no redirect: a 3xx answer is an error.
	Client *http.Client
	// Recorder records the function's spans: one per invocation, a child
	// of the client's invocation span when the request carries its trace
	// context, with the ffmpeg run and the upload under it. Serve makes it
	// from the OTEL_* environment, as the client does; nil records
	// nothing.
	Recorder *observe.Recorder
	// Log receives a JSON record per invocation started and ended, with
	// the trace ID and the segment (observe.NewLogger); nil logs nothing.
	Log *slog.Logger
	// fault is EnvTestFault's value in a build with faults, else "".
	fault string

	versionOnce sync.Once
	version     string

	mu      sync.Mutex
	running map[string]bool // job directories of the invocations running
}

// NewHandler returns a Handler configured from the environment: ffmpeg from
// /opt/bin (a layer), then the package's own bin/, then PATH;
// CHUNKCODE_ALLOW_HTTP, CHUNKCODE_S3_ENDPOINT, and CHUNKCODE_TEST_FAULT in a
// build with faults.
func NewHandler() *Handler {
	dirs := []string{"/opt/bin"}
	if root := os.Getenv("LAMBDA_TASK_ROOT"); root != "" {
		dirs = append(dirs, filepath.Join(root, "bin"))
	}
	return &Handler{
		Runner:     ffmpeg.Find(dirs...),
		AllowHTTP:  os.Getenv(EnvAllowHTTP) == "1",
		S3Endpoint: os.Getenv(EnvS3Endpoint),
		fault:      faultFromEnv(),
		Function:   os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
}

// flushTimeout bounds the export of an invocation's spans before it
// returns, after which Lambda may freeze the process.
const flushTimeout = 2 * time.Second

// Serve runs h as the Lambda function handler until the runtime stops it.
// It does not return. Unless h has them, it gives h a Recorder from the
// OTEL_* environment (none when it names no collector) and a JSON Log on
// stderr, which Lambda sends to CloudWatch Logs.
func Serve(ctx context.Context, h *Handler) {
	if h.Log == nil {
		h.Log, _ = observe.NewLogger(os.Stderr, observe.LogJSON, slog.LevelInfo)
	}
	if h.Recorder == nil {
		rec, err := observe.New(ctx, observe.Options{Service: FunctionService})
		if err != nil {
			h.Log.Error("tracing off", "error", err.Error())
		}
		h.Recorder = rec
	}
	var warm atomic.Bool
	awslambda.StartWithOptions(func(ctx context.Context, req Request) (Response, error) {
		f := observe.FunctionFromEnv()
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			f.RequestID, f.ARN = lc.AwsRequestID, lc.InvokedFunctionArn
		}
		f.ColdStart = !warm.Swap(true)
		resp, err := h.invocation(ctx, req, f)
		if err != nil {
			// A typed error payload: errorType is the kind.
			var fe *FunctionError
			if !errors.As(err, &fe) {
				fe = &FunctionError{Kind: KindInternal, Message: err.Error()}
			}
			typ, msg := fe.payload()
			msg = withIdentity(msg, f.RequestID, lambdacontext.LogStreamName)
			return resp, messages.InvokeResponse_Error{Type: typ, Message: msg}
		}
		return resp, nil
	}, awslambda.WithContext(ctx))
}

// FunctionService is the service.name of the function's spans, unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names another.
const FunctionService = "chunkcode-function"

// invocation handles req, invoked as f says, in a span of its own with a
// log record as it starts and ends, and exports its spans before
// returning.
func (h *Handler) invocation(ctx context.Context, req Request, f observe.Function) (Response, error) {
	// The client's trace, for the log records even when this function
	// does not export spans.
	ctx = observe.Extract(ctx, req.TraceContext)
	ctx, span := h.Recorder.Function(ctx, req.TraceContext, f)
	attrs := []any{slog.String("request_id", f.RequestID), slog.Bool("cold_start", f.ColdStart)}
	switch {
	case req.Source != nil:
		h.logger().InfoContext(ctx, "source job", attrs...)
	case req.Audio != nil:
		h.logger().InfoContext(ctx, "audio job", attrs...)
	default:
		ctx = observe.WithSegment(ctx, req.Job.Index+1)
		attrs = append(attrs, slog.Int("frames", req.Job.Frames))
		msg := "segment job"
		if req.Chunk != nil {
			msg = "chunk job"
		}
		h.logger().InfoContext(ctx, msg, attrs...)
	}
	t := time.Now()
	resp, err := h.Handle(ctx, req)
	resp.RequestID = f.RequestID
	span.End(err)
	attrs = append(attrs[:1], slog.Float64("seconds", time.Since(t).Seconds()))
	if err != nil {
		var fe *FunctionError
		kind := KindInternal
		if errors.As(err, &fe) {
			kind = fe.Kind
		}
		h.logger().ErrorContext(ctx, "failed", append(attrs, slog.String("kind", string(kind)), slog.String("error", err.Error()))...)
	} else {
		h.logger().InfoContext(ctx, "done", attrs...)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if ferr := h.Recorder.Flush(fctx); ferr != nil {
		h.logger().WarnContext(ctx, "export spans", slog.String("error", ferr.Error()))
	}
	return resp, err
}

// traced runs f in a span named name, a child of ctx's, with attrs.
func (h *Handler) traced(ctx context.Context, name string, f func(context.Context) error, attrs ...attribute.KeyValue) error {
	ctx, span := h.Recorder.Child(ctx, name, attrs...)
	err := f(ctx)
	span.End(err)
	return err
}

// logger is h.Log, or a logger that discards.
func (h *Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// startEncode readies an encode of frames of source: the progress that
// reports to progressURL, when set, until stop is called, and ffmpeg's
// input options, with the picture size limit for that many frames.
func (h *Handler) startEncode(ctx context.Context, progressURL, source string, frames int) (ffmpeg.Progress, []string, func(), error) {
	opts, err := h.inputOptions(source)
	if err != nil {
		return nil, nil, nil, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	opts = append(opts, "-max_pixels", strconv.FormatInt(maxPixels(frames), 10))
	if progressURL == "" {
		return nil, opts, func() {}, nil
	}
	var done atomic.Int64
	stop := h.reportProgress(ctx, progressURL, &done)
	return func(n int) { done.Store(int64(n)) }, opts, stop, nil
}

// Handle validates req, encodes the segment, checks its frame count and
// uploads it; or, for a source job, reads the source (see SourceJob).
// Errors are *FunctionError.
//
// Before anything else, it removes what earlier invocations left in the
// jobs' directory: one that timed out was stopped before it could clean up,
// and a warm sandbox keeps its /tmp for the next invocation.
func (h *Handler) Handle(ctx context.Context, req Request) (Response, error) {
	h.removeLeftovers()
	if req.Version > ProtocolVersion {
		return Response{}, &FunctionError{Kind: KindInvalid, Message: fmt.Sprintf(
			"request of protocol version %d, newer than the function's %d: deploy the function from this chunkcode", req.Version, ProtocolVersion)}
	}
	if req.Source != nil {
		return h.handleSource(ctx, *req.Source)
	}
	if req.Chunk != nil {
		return h.handleChunk(ctx, req)
	}
	if req.Audio != nil {
		return h.handleAudio(ctx, *req.Audio)
	}
	if err := h.validate(&req); err != nil {
		return Response{}, &FunctionError{Kind: KindInvalid, Message: err.Error()}
	}
	if fe := checkLimits(req.Job); fe != nil {
		return Response{}, fe
	}
	if err := h.injectFault(); err != nil {
		return Response{}, err
	}
	dir, err := h.jobDir("segment")
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	defer h.removeJobDir(dir)
	job := req.Job
	job.Output = filepath.Join(dir, "segment"+transcode.SegmentExt)

	progress, opts, stop, err := h.startEncode(ctx, req.ProgressURL, job.Source, job.Frames)
	if err != nil {
		return Response{}, err
	}
	defer stop()
	// ffmpeg reads its range of the source over HTTP itself, seeking:
	// the download is in this span.
	var res transcode.Result
	err = h.traced(ctx, "ffmpeg", func(ctx context.Context) (err error) {
		res, err = transcode.EncodeSegment(ctx, h.Runner, job, progress, opts...)
		if err != nil {
			return encodeError(ctx, err).redact(job.Source)
		}
		return nil
	}, observe.KeyFrames.Int(job.Frames))
	if err != nil {
		return Response{}, err
	}
	t := time.Now()
	err = h.traced(ctx, "upload", func(ctx context.Context) error {
		if err := h.upload(ctx, "segment", req.ResultURL, job.Output, res.Bytes); err != nil {
			return &FunctionError{Kind: KindUpload, Message: err.Error()}
		}
		return nil
	}, attribute.Int64("chunkcode.bytes", res.Bytes))
	if err != nil {
		return Response{}, err
	}
	return Response{
		Version: ProtocolVersion, Index: res.Index, Frames: res.Frames, Bytes: res.Bytes,
		EncodeSeconds: res.EncodeSeconds, UploadSeconds: time.Since(t).Seconds(),
		FFmpeg: h.ffmpegVersion(ctx),
	}, nil
}

// validate checks every value of req that comes from outside.
func (h *Handler) validate(req *Request) error {
	if err := h.validateJob(req); err != nil {
		return err
	}
	return h.checkURL("result", req.ResultURL)
}

// validateJob checks the values of a segment or chunk request's job, and
// its progress URL, that come from outside.
func (h *Handler) validateJob(req *Request) error {
	if err := req.Job.Validate(); err != nil {
		return err
	}
	if req.Job.Index < 0 || req.Job.Index > 1_000_000 {
		return fmt.Errorf("job index %d out of range", req.Job.Index)
	}
	if err := h.checkURL("source", req.Job.Source); err != nil {
		return err
	}
	if req.ProgressURL != "" {
		if err := h.checkURL("progress", req.ProgressURL); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) checkURL(what, s string) error {
	if s == "" {
		return fmt.Errorf("no %s URL", what)
	}
	if len(s) > maxURL {
		return fmt.Errorf("%s URL longer than %d bytes", what, maxURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parse %s URL: %w", what, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && h.AllowHTTP:
	case u.Scheme == "http":
		return fmt.Errorf("%s URL is plain http; only https is accepted (%s=1 allows http for the local emulator)", what, EnvAllowHTTP)
	default:
		return fmt.Errorf("%s URL has scheme %q; only https is accepted", what, u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("%s URL must name a host and no user", what)
	}
	if !h.s3Host(u) {
		msg := fmt.Sprintf("%s URL host %q is not an S3 endpoint (*.amazonaws.com", what, u.Host)
		if h.S3Endpoint != "" {
			msg += " or " + h.S3Endpoint
		}
		return errors.New(msg + ")")
	}
	return nil
}

// s3Host reports whether u's host is S3 on AWS or h.S3Endpoint.
func (h *Handler) s3Host(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn") {
		return true
	}
	want := h.S3Endpoint
	if want == "" {
		return false
	}
	if e, err := url.Parse(want); err == nil && e.Host != "" {
		want = e.Host
	}
	wantHost, wantPort, err := net.SplitHostPort(want)
	if err != nil {
		return host == strings.ToLower(strings.Trim(want, "[]"))
	}
	return host == strings.ToLower(wantHost) && u.Port() == wantPort
}

// inputOptions restricts what ffmpeg may open while reading source: only
// the network protocols its URL needs, so crafted media cannot make it read
// local files; only self-contained demuxers; and no redirect, which could
// lead it off the checked host or from https to http (ffmpeg's http
// protocol then fails with an I/O error). An https source's certificate is
// verified, which ffmpeg does not do by default, against h.CAFile or the
// system's bundle; without one the source is not read.
func (h *Handler) inputOptions(source string) ([]string, error) {
	opts := []string{
		// The formats a local INPUT may have too: playlists and concat
		// lists, which make ffmpeg open further URLs, are not among them.
		"-format_whitelist", strings.Join(ffmpeg.Demuxers, ","),
		"-rw_timeout", fmt.Sprint(ioTimeout.Microseconds()),
		"-max_redirects", "0",
	}
	if strings.HasPrefix(source, "http:") {
		return append(opts, "-protocol_whitelist", "http,tcp"), nil
	}
	ca := h.CAFile
	if ca == "" {
		if ca = findCAFile(); ca == "" {
			return nil, fmt.Errorf("find a CA bundle to verify the source's certificate: none of %s exists (set SSL_CERT_FILE)", strings.Join(CAFiles, ", "))
		}
	}
	return append(opts, "-protocol_whitelist", "https,tls,tcp", "-tls_verify", "1", "-ca_file", ca), nil
}

// CAFiles are where systems keep their bundle of certificate authorities,
// in the order the handler looks: Amazon Linux 2023 (Lambda's
// provided.al2023 runtime) and other Red Hat derivatives, Debian and
// Ubuntu, openSUSE, Alpine. SSL_CERT_FILE, when set, comes first.
var CAFiles = []string{
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// findCAFile returns $SSL_CERT_FILE or the first of CAFiles that is a
// regular file, or "".
func findCAFile() string {
	files := CAFiles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = append([]string{f}, files...)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			return f
		}
	}
	return ""
}

// encodeError turns an EncodeSegment error into a *FunctionError whose
// message carries the tail of ffmpeg's stderr.
func encodeError(ctx context.Context, err error) *FunctionError {
	var ee *ffmpeg.ExitError
	switch {
	case ctx.Err() != nil:
		return &FunctionError{Kind: KindTimeout, Message: err.Error()}
	case errors.Is(err, transcode.ErrShortSegment):
		return &FunctionError{Kind: KindFrames, Message: err.Error()}
	case errors.As(err, &ee) && untrusted(ee.Stderr):
		return &FunctionError{Kind: KindTLS, Message: "the source's TLS certificate did not verify: " + ee.Tail(3)}
	case errors.As(err, &ee) && strings.Contains(ee.Stderr, "exceeds specified max pixel count"):
		// -max_pixels, the job's share of MaxJobPixelFrames.
		return &FunctionError{Kind: KindLimit, Message: "source pictures above the function's limit for a job of this many frames: " + ee.Tail(3)}
	case errors.As(err, &ee):
		return &FunctionError{Kind: KindEncode, Message: fmt.Sprintf("%s exited with status %d: %s", ee.Program, ee.Code, ee.Tail(10))}
	}
	return &FunctionError{Kind: KindInternal, Message: err.Error()}
}

// untrusted reports whether ffmpeg's stderr says a certificate did not
// verify: "Peer certificate failed verification" (GnuTLS), "certificate
// verify failed" (OpenSSL), "... not correctly signed by the trusted CA"
// (mbed TLS).
func untrusted(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "certificate") && (strings.Contains(s, "verif") || strings.Contains(s, "trusted"))
}

// reportProgress PUTs the frame count to url every ProgressInterval while
// it changes, until the returned stop is called. Progress is best effort:
// failed PUTs are ignored.
func (h *Handler) reportProgress(ctx context.Context, url string, frames *atomic.Int64) (stop func()) {
	last := int64(0)
	return everyInterval(ctx, func(ctx context.Context) {
		if n := frames.Load(); n != last {
			last = n
			body := strconv.FormatInt(n, 10)
			h.put(ctx, url, strings.NewReader(body), int64(len(body)))
		}
	})
}

// upload PUTs the file at path, holding what, to the presigned URL with
// its length.
func (h *Handler) upload(ctx context.Context, what, rawURL, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer f.Close()
	if err := h.put(ctx, rawURL, f, size); err != nil {
		return fmt.Errorf("upload %s: %w", what, err)
	}
	return nil
}

// put PUTs size bytes of body to a presigned URL. It follows no redirect,
// and an answer other than 2xx is an error that gives its status only: the
// body is the server's, not for messages or logs.
func (h *Handler) put(ctx context.Context, rawURL string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, rawURL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	client := http.Client{}
	if h.Client != nil {
		client = *h.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return redactURL(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 3:
		return fmt.Errorf("answered %d %s, a redirect, which is not followed", resp.StatusCode, http.StatusText(resp.StatusCode))
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

// redactURL drops the query, which holds the presigned signature, from the
// URL in a *url.Error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = withoutQuery(ue.URL)
	}
	return err
}

// redact removes from e's message and detail the query of rawURL, which
// holds the presigned signature, wherever ffmpeg named its input.
func (e *FunctionError) redact(rawURL string) *FunctionError {
	e.Message = strings.ReplaceAll(e.Message, rawURL, withoutQuery(rawURL))
	e.Detail = strings.ReplaceAll(e.Detail, rawURL, withoutQuery(rawURL))
	return e
}

// withoutQuery returns rawURL without its query.
func withoutQuery(rawURL string) string {
	u, _, _ := strings.Cut(rawURL, "?")
	return u
}

func (h *Handler) ffmpegVersion(ctx context.Context) string {
	h.versionOnce.Do(func() {
		v, err := h.Runner.Version(ctx)
		if err != nil {
			v = "unknown"
		}
		h.version = v
	})
	return h.version
}

// JobsDir is the directory under tmp in which the function named function
// keeps one directory per running invocation.
func JobsDir(tmp, function string) string {
	name := "chunkcode-jobs"
	if function = filepath.Base(function); function != "" && function != "." && function != "/" {
		name += "-" + function
	}
	return filepath.Join(tmp, name)
}

func (h *Handler) jobsDir() string {
	tmp := h.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	return JobsDir(tmp, h.Function)
}

// jobDir creates the directory of one invocation's files, which
// removeJobDir removes.
func (h *Handler) jobDir(kind string) (string, error) {
	root := h.jobsDir()
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("create jobs directory: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	dir, err := os.MkdirTemp(root, kind+"-")
	if err != nil {
		return "", fmt.Errorf("create job directory: %w", err)
	}
	if h.running == nil {
		h.running = map[string]bool{}
	}
	h.running[dir] = true
	return dir, nil
}

func (h *Handler) removeJobDir(dir string) {
	os.RemoveAll(dir)
	h.mu.Lock()
	delete(h.running, dir)
	h.mu.Unlock()
}

// removeLeftovers removes every entry of the jobs' directory that belongs
// to no invocation running in this process.
func (h *Handler) removeLeftovers() {
	root := h.jobsDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		return // none yet
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range entries {
		if p := filepath.Join(root, e.Name()); !h.running[p] {
			os.RemoveAll(p)
		}
	}
}
