package lambda

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// Defaults for Options.
const (
	DefaultPrefix = "chunkcode/"
	// DefaultWorkers is the fan-out on AWS, where the pipeline's pool of
	// workers alone bounds the invocations in flight; with emulator
	// endpoints it is one per endpoint.
	DefaultWorkers = 100
	// EmulatorFunction is the only function name the emulator serves.
	EmulatorFunction = "function"
	// DefaultExpiry is how long presigned URLs stay valid: longer than the
	// longest invocation (15 minutes) plus the wait for a free endpoint.
	DefaultExpiry = 2 * time.Hour
)

// Throttling backoff: the first wait and the cap; waits have full jitter.
const (
	throttleBase     = 200 * time.Millisecond
	throttleMax      = 20 * time.Second
	throttleAttempts = 12
)

// Options configure a Backend.
type Options struct {
	// Function is the function name or ARN; "" is EmulatorFunction.
	Function string
	// Bucket holds the run's staging objects, under Prefix plus a run ID.
	Bucket string
	Prefix string // "" is DefaultPrefix
	// Endpoints, when set, are Lambda endpoints that serve one invocation
	// at a time each, such as emulators: an invocation waits for a free
	// one. Empty means the endpoint of cfg (the regional Lambda endpoint,
	// or AWS_ENDPOINT_URL_LAMBDA), which takes as many invocations at once
	// as the caller makes; Lambda throttling them is backed off and
	// retried.
	Endpoints []string
	// S3Endpoint overrides the S3 endpoint and turns on path-style
	// addressing.
	S3Endpoint string
	// MemoryMB and Arch price invocations. When zero or empty they come
	// from the log tail's REPORT line or the function configuration.
	MemoryMB int
	Arch     string // "arm64" or "x86_64"
	// Expiry is how long presigned URLs are valid; 0 is DefaultExpiry.
	Expiry time.Duration
	// UploadConcurrency is how many parts of the source are uploaded at
	// once; 0 is 8.
	UploadConcurrency int
	// Runner cuts the pieces of a local source (see Prepare); the zero
	// value runs ffmpeg from PATH.
	Runner ffmpeg.Runner
	// PiecesAbove is the size in bytes above which a local source is
	// staged in pieces, so that uploading overlaps encoding; a smaller one
	// uploads faster whole than it is cut. 0 is DefaultPiecesAbove; a
	// negative value stages every source that can be cut in pieces.
	PiecesAbove int64
}

// DefaultPiecesAbove is the default of Options.PiecesAbove: 32 MiB, a few
// seconds of upload on a typical uplink.
const DefaultPiecesAbove = 32 << 20

// Stats are a Backend's run-wide counters.
type Stats struct {
	UploadSeconds float64
	UploadBytes   int64
	// Invocations counts invocations per endpoint ("" for the regional
	// endpoint), failed ones included.
	Invocations map[string]int
	Throttles   int
	FFmpeg      string // the function's ffmpeg version
	// Pieces counts the source pieces staged, 0 when the source was
	// uploaded whole. StagingOverlap is how long segment encodes ran while
	// pieces were still being staged: from the first invocation to the
	// last piece in S3, 0 if none overlapped.
	Pieces         int
	StagingOverlap float64
}

// Backend encodes segments by invoking a Lambda function. Create it with New;
// it is safe for concurrent use and for any number of runs. Each run's
// Start stages its source under a key prefix of its own, its session's
// Encode invokes the function and downloads the result, and its Close
// deletes what the run staged.
type Backend struct {
	opts Options
	// lambdas holds the free endpoints of Options.Endpoints; it is nil
	// without them, and every invocation goes to regional at once.
	lambdas  chan *endpoint
	regional *endpoint
	store    *store

	mu      sync.Mutex
	stats   Stats
	memory  int
	arch    string
	fetched bool
}

// session is one run on a Backend: the objects it staged under run, which
// Close deletes.
type session struct {
	b   *Backend
	run string // key prefix of this run, ending in "/"

	mu          sync.Mutex
	firstInvoke time.Time
	lastStaged  time.Time
	source      string // the local source staged whole, at sourceKey
	sourceKey   string
	// pieces holds, by job index, the staged pieces of the source piecesOf.
	pieces   map[int]*piece
	piecesOf string
	staging  chan struct{} // closed when the pieces are all staged or failed
}

type endpoint struct {
	url    string
	client *lambdasvc.Client
}

var (
	_ transcode.Backend      = (*Backend)(nil)
	_ transcode.Session      = (*session)(nil)
	_ transcode.SourceReader = (*Backend)(nil)
)

// New returns a Backend that uses cfg's credentials and region.
func New(cfg aws.Config, opts Options) (*Backend, error) {
	if opts.Bucket == "" {
		return nil, errors.New("no bucket to stage media in (--bucket)")
	}
	if opts.Function == "" {
		opts.Function = EmulatorFunction
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.Expiry <= 0 {
		opts.Expiry = DefaultExpiry
	}
	if opts.UploadConcurrency <= 0 {
		opts.UploadConcurrency = 8
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	s3client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.S3Endpoint)
			o.UsePathStyle = true
		}
		// Checksums only where S3 requires them: presigned PUTs then carry
		// no checksum of an empty body, and S3-compatible servers need not
		// know the newer checksum headers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	b := &Backend{
		opts: opts,
		store: &store{
			client: s3client, presign: s3.NewPresignClient(s3client), bucket: opts.Bucket,
			concurrency: opts.UploadConcurrency, expiry: opts.Expiry,
		},
		stats:  Stats{Invocations: map[string]int{}},
		memory: opts.MemoryMB,
		arch:   opts.Arch,
	}
	newClient := func(url string) *lambdasvc.Client {
		return lambdasvc.NewFromConfig(cfg, func(o *lambdasvc.Options) {
			if url != "" {
				o.BaseEndpoint = aws.String(url)
			}
			// An invocation is not repeated behind our back: throttling
			// is retried here, everything else by the pipeline.
			o.Retryer = aws.NopRetryer{}
		})
	}
	if len(opts.Endpoints) == 0 {
		b.regional = &endpoint{client: newClient("")}
		return b, nil
	}
	b.lambdas = make(chan *endpoint, len(opts.Endpoints))
	for _, u := range opts.Endpoints {
		b.lambdas <- &endpoint{url: u, client: newClient(u)}
	}
	return b, nil
}

// runID names a run: a UTC timestamp and random bits.
func runID() string {
	return time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(4)
}

func randomHex(n int) string {
	r := make([]byte, n)
	crand.Read(r)
	return hex.EncodeToString(r)
}

// Properties says that the functions encode elsewhere, with a fan-out
// that keeps every endpoint busy, and that the backend reads s3:// sources
// where they lie.
func (b *Backend) Properties() transcode.Properties {
	workers := DefaultWorkers
	if len(b.opts.Endpoints) > 0 {
		workers = len(b.opts.Endpoints)
	}
	return transcode.Properties{Name: transcode.LambdaBackend, Workers: workers, Source: b}
}

// Prefix is the key prefix under which every run stages its objects, each
// under a run prefix of its own.
func (b *Backend) Prefix() string { return b.opts.Prefix }

// Stats returns a copy of the counters, added up over every run.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Invocations = make(map[string]int, len(b.stats.Invocations))
	for k, v := range b.stats.Invocations {
		s.Invocations[k] = v
	}
	return s
}

// Start begins a run under a key prefix of its own and stages a local
// source, unless it already is an s3:// URL. Where it can and the source is
// larger than Options.PiecesAbove, it cuts every job's range into a piece
// of its own and uploads the pieces in the order of jobs, in the
// background, returning once the first is in S3: later pieces upload while
// the first segments encode (see planPieces). Otherwise it uploads the
// source whole and returns when that is done. Jobs whose Source is not src
// fail in Encode. The session it returns, even with an error, must be
// closed.
func (b *Backend) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	b.fetchConfig(ctx)
	s := &session{b: b, run: b.opts.Prefix + runID() + "/"}
	path := src.Path
	if _, _, ok := ParseS3URL(path); ok || len(jobs) == 0 {
		return s, nil
	}
	threshold := b.opts.PiecesAbove
	if threshold == 0 {
		threshold = DefaultPiecesAbove
	}
	if src.Size > threshold {
		if pieces := planPieces(src, jobs); pieces != nil {
			s.mu.Lock()
			s.pieces, s.piecesOf = pieces, path
			s.staging = make(chan struct{})
			s.mu.Unlock()
			go func() {
				defer close(s.staging)
				s.stagePieces(ctx, src, jobs, pieces)
			}()
			// The first segment can start once its piece is in; a source
			// that cannot be staged at all fails here, named once.
			select {
			case <-pieces[jobs[0].Index].ready:
				return s, pieces[jobs[0].Index].err
			case <-ctx.Done():
				return s, ctx.Err()
			}
		}
	}
	key := s.run + "input" + strings.ToLower(filepath.Ext(path))
	t := time.Now()
	n, err := b.store.upload(ctx, path, key)
	if err != nil {
		return s, fmt.Errorf("stage %s to %s: %w", path, b.store.objectURL(key), err)
	}
	s.mu.Lock()
	s.source, s.sourceKey = path, key
	s.mu.Unlock()
	b.mu.Lock()
	b.stats.UploadSeconds += time.Since(t).Seconds()
	b.stats.UploadBytes += n
	b.mu.Unlock()
	return s, nil
}

// fetchConfig reads the function's memory and architecture for pricing,
// once, when the options do not give them. Emulators have no configuration.
func (b *Backend) fetchConfig(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fetched || len(b.opts.Endpoints) > 0 || (b.memory > 0 && b.arch != "") {
		return
	}
	b.fetched = true
	out, err := b.regional.client.GetFunctionConfiguration(ctx, &lambdasvc.GetFunctionConfigurationInput{FunctionName: &b.opts.Function})
	if err != nil {
		return // pricing falls back to the log tail
	}
	if b.memory == 0 && out.MemorySize != nil {
		b.memory = int(*out.MemorySize)
	}
	if b.arch == "" && len(out.Architectures) > 0 {
		b.arch = string(out.Architectures[0])
	}
}

// Encode invokes the function for job and downloads the segment to
// job.Output. A function error, a timeout or a wrong result is an error the
// pipeline retries; nothing usable is left at job.Output then.
func (s *session) Encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress) (transcode.Result, error) {
	if err := ctx.Err(); err != nil {
		return transcode.Result{}, err
	}
	res, err := s.encode(ctx, job, progress)
	if err != nil {
		os.Remove(job.Output)
		if ctx.Err() != nil {
			return transcode.Result{}, fmt.Errorf("encode segment %d on lambda: %w", job.Index, ctx.Err())
		}
		return transcode.Result{}, err
	}
	return res, nil
}

func (s *session) encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress) (transcode.Result, error) {
	b := s.b
	remote, srcURL, inPiece, err := s.pieceJob(ctx, job)
	if err != nil {
		return transcode.Result{}, err
	}
	if !inPiece {
		if srcURL, err = s.sourceURL(ctx, job.Source); err != nil {
			return transcode.Result{}, err
		}
	}
	// A key of its own per attempt: an earlier attempt that timed out here
	// may still be running and upload late.
	key := fmt.Sprintf("%sseg-%05d-%s%s", s.run, job.Index, randomHex(4), transcode.SegmentExt)
	putURL, err := b.store.putURL(ctx, key)
	if err != nil {
		return transcode.Result{}, fmt.Errorf("presign %s: %w", b.store.objectURL(key), err)
	}
	remote.Source = srcURL
	req := Request{Job: remote, ResultURL: putURL}
	progressKey := strings.TrimSuffix(key, transcode.SegmentExt) + ".progress"
	if progress != nil {
		if req.ProgressURL, err = b.store.putURL(ctx, progressKey); err != nil {
			return transcode.Result{}, fmt.Errorf("presign %s: %w", b.store.objectURL(progressKey), err)
		}
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return transcode.Result{}, err
	}

	t := time.Now()
	var stop func()
	if progress != nil {
		stop = b.pollProgress(ctx, progressKey, progress)
	}
	s.mu.Lock()
	if s.firstInvoke.IsZero() {
		s.firstInvoke = time.Now()
	}
	s.mu.Unlock()
	resp, rep, err := b.invoke(ctx, payload)
	if stop != nil {
		stop()
	}
	invokeTime := time.Since(t)
	if err != nil {
		return transcode.Result{}, err
	}
	if resp.Index != job.Index || resp.Frames != job.Frames {
		return transcode.Result{}, fmt.Errorf("segment %d: function answered for segment %d with %d frames, want %d: %w",
			job.Index, resp.Index, resp.Frames, job.Frames, transcode.ErrShortSegment)
	}

	t = time.Now()
	n, err := b.store.download(ctx, key, job.Output)
	if err != nil {
		return transcode.Result{}, fmt.Errorf("download segment %d from %s: %w", job.Index, b.store.objectURL(key), err)
	}
	download := time.Since(t)
	frames, err := mp4.VideoFrames(job.Output)
	if err != nil {
		return transcode.Result{}, fmt.Errorf("check segment %d: %w", job.Index, err)
	}
	if frames != job.Frames || n != resp.Bytes {
		return transcode.Result{}, fmt.Errorf("check segment %d: %w: downloaded %d frames in %d bytes, function made %d in %d",
			job.Index, transcode.ErrShortSegment, frames, n, resp.Frames, resp.Bytes)
	}

	remoteStats := b.remoteStats(invokeTime, rep, resp, download)
	return transcode.Result{
		Index: job.Index, Frames: frames, Bytes: n, EncodeSeconds: resp.EncodeSeconds, Remote: remoteStats,
	}, nil
}

// remoteStats are the Result.Remote counters of one invocation: its
// timings, billed time and, when the memory size is known, its cost.
func (b *Backend) remoteStats(invokeTime time.Duration, rep report, resp Response, download time.Duration) *transcode.RemoteStats {
	billed := rep.billed
	if billed == 0 {
		billed = billedDuration(invokeTime)
	}
	b.mu.Lock()
	memory, arch := b.memory, b.arch
	if b.stats.FFmpeg == "" {
		b.stats.FFmpeg = resp.FFmpeg
	}
	b.mu.Unlock()
	if memory == 0 {
		memory = rep.memoryMB
	}
	stats := &transcode.RemoteStats{
		InvokeSeconds:   invokeTime.Seconds(),
		EncodeSeconds:   resp.EncodeSeconds,
		UploadSeconds:   resp.UploadSeconds,
		DownloadSeconds: download.Seconds(),
		BilledSeconds:   billed.Seconds(),
	}
	if memory > 0 {
		stats.GBSeconds, stats.USD = cost(billed, memory, arch)
	}
	return stats
}

// pollProgress reads the frame count the function writes to key every
// ProgressInterval and reports it, until the returned stop is called.
func (b *Backend) pollProgress(ctx context.Context, key string, progress ffmpeg.Progress) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(ProgressInterval)
		defer tick.Stop()
		last := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if n, err := b.store.readInt(ctx, key); err == nil && n > last {
				last = n
				progress(n)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// sourceURL presigns a GET of the source: the copy this run staged, or the
// object an s3:// source names.
func (s *session) sourceURL(ctx context.Context, source string) (string, error) {
	if _, _, ok := ParseS3URL(source); ok {
		return s.b.sourceURL(ctx, source)
	}
	s.mu.Lock()
	key := s.sourceKey
	staged := s.source == source
	s.mu.Unlock()
	if !staged {
		return "", fmt.Errorf("source %s: not staged (the run was started with another source)", source)
	}
	u, err := s.b.store.getURL(ctx, "", key)
	if err != nil {
		return "", fmt.Errorf("presign source %s: %w", source, err)
	}
	return u, nil
}

// sourceURL presigns a GET of the object the s3:// URL source names.
func (b *Backend) sourceURL(ctx context.Context, source string) (string, error) {
	bucket, key, ok := ParseS3URL(source)
	if !ok {
		return "", fmt.Errorf("source %s: not an s3:// URL", source)
	}
	u, err := b.store.getURL(ctx, bucket, key)
	if err != nil {
		return "", fmt.Errorf("presign source %s: %w", source, err)
	}
	return u, nil
}

// invoke runs one invocation, on a free endpoint of Options.Endpoints or
// on the regional endpoint at once, backing off while Lambda throttles.
func (b *Backend) invoke(ctx context.Context, payload []byte) (Response, report, error) {
	ep := b.regional
	if b.lambdas != nil {
		select {
		case ep = <-b.lambdas:
		case <-ctx.Done():
			return Response{}, report{}, ctx.Err()
		}
		defer func() { b.lambdas <- ep }()
	}
	where := fmt.Sprintf("function %q", b.opts.Function)
	if ep.url != "" {
		where += " at " + ep.url
	}

	var out *lambdasvc.InvokeOutput
	var err error
	for attempt := 0; ; attempt++ {
		b.mu.Lock()
		b.stats.Invocations[ep.url]++
		b.mu.Unlock()
		out, err = ep.client.Invoke(ctx, &lambdasvc.InvokeInput{
			FunctionName:   &b.opts.Function,
			InvocationType: lambdatypes.InvocationTypeRequestResponse,
			LogType:        lambdatypes.LogTypeTail,
			Payload:        payload,
		})
		if err == nil || !throttled(err) || attempt+1 >= throttleAttempts {
			break
		}
		b.mu.Lock()
		b.stats.Throttles++
		b.mu.Unlock()
		wait := time.Duration(rand.Int64N(int64(min(throttleMax, throttleBase<<attempt)) + 1))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return Response{}, report{}, ctx.Err()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, report{}, ctx.Err()
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) && ep.url != "" {
			switch re.HTTPStatusCode() {
			case http.StatusBadGateway:
				// The emulator's answer when the function process dies.
				err = &FunctionError{Kind: KindCrash, Message: "the function exited without answering (" + err.Error() + ")"}
			case http.StatusNotFound:
				err = fmt.Errorf("%w (the emulator serves only the function %q)", err, EmulatorFunction)
			}
		}
		return Response{}, report{}, fmt.Errorf("invoke %s: %w", where, err)
	}
	rep := parseLogTail(aws.ToString(out.LogResult))
	if fe := functionError(out); fe != nil {
		return Response{}, rep, fmt.Errorf("invoke %s: %w", where, fe)
	}
	var resp Response
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		return Response{}, rep, fmt.Errorf("invoke %s: decode response %.200q: %w", where, out.Payload, err)
	}
	return resp, rep, nil
}

// throttled reports whether err is Lambda saying too many requests.
func throttled(err error) bool {
	var tm *lambdatypes.TooManyRequestsException
	if errors.As(err, &tm) {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 429
}

// functionError finds a failed invocation in out: from the FunctionError
// header that Lambda sets, from an error payload (the emulator sets no
// header) or from the emulator's "Task timed out" answer.
func functionError(out *lambdasvc.InvokeOutput) *FunctionError {
	body := bytes.TrimSpace(out.Payload)
	if bytes.HasPrefix(body, []byte("Task timed out")) {
		return &FunctionError{Kind: KindTimeout, Message: string(body)}
	}
	var p struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	isErr := json.Unmarshal(body, &p) == nil && (p.Type != "" || p.Message != "")
	if out.FunctionError == nil && !isErr {
		return nil
	}
	fe := &FunctionError{Kind: Kind(p.Type), Message: p.Message}
	switch {
	case strings.Contains(p.Message, "Task timed out"):
		fe.Kind = KindTimeout
	case fe.Kind == "":
		fe.Kind = KindInternal
		if fe.Message == "" {
			fe.Message = fmt.Sprintf("%s: %.500s", aws.ToString(out.FunctionError), body)
		}
	}
	return fe
}

// UploadOutput copies the finished output at path to the s3://bucket/key
// URL dst, in parallel parts streamed from disk.
func (b *Backend) UploadOutput(ctx context.Context, path, dst string) error {
	bucket, key, ok := ParseS3URL(dst)
	if !ok {
		return fmt.Errorf("upload output: %s is not an s3://bucket/key URL", dst)
	}
	st := *b.store
	st.bucket = bucket
	if _, err := st.upload(ctx, path, key); err != nil {
		return fmt.Errorf("upload output to %s: %w", dst, err)
	}
	return nil
}

// Close deletes every object of the run unless keep, and adds the run's
// staging overlap to the backend's Stats.
func (s *session) Close(ctx context.Context, keep bool) error {
	s.mu.Lock()
	staging := s.staging
	s.mu.Unlock()
	if staging != nil {
		<-staging // no piece lands after the deletion
	}
	s.mu.Lock()
	if !s.firstInvoke.IsZero() && s.lastStaged.After(s.firstInvoke) {
		s.b.mu.Lock()
		s.b.stats.StagingOverlap += s.lastStaged.Sub(s.firstInvoke).Seconds()
		s.b.mu.Unlock()
	}
	s.mu.Unlock()
	if keep {
		return nil
	}
	if err := s.b.store.deletePrefix(ctx, s.run); err != nil {
		return fmt.Errorf("delete staging objects under %s: %w", s.b.store.objectURL(s.run), err)
	}
	return nil
}
