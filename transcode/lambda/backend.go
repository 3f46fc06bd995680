package lambda

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/mp4"
	"github.com/chunkcode/chunkcode/transcode/publish"
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
	Arch     Arch
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
	// Rungs says how a ladder's chunks are spread over invocations; "" is
	// RungsPerChunk.
	Rungs RungMode
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
	// Ladder lists every invocation of a ladder encode, failed ones
	// included, for CostOfLadder; Audio adds up the invocations that
	// encoded a ladder's audio where its source lies.
	Ladder []RungInvocation
	Audio  transcode.RemoteStats
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

	region string // of the functions, for their invocations' spans

	mu      sync.Mutex
	stats   Stats
	memory  int
	arch    Arch
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

	// A ladder run (chunk.go): the publish the functions stage with, the
	// heights of the ladder, and the rungs of chunks already encoded with
	// RungsSplit, by chunk and height, which a retry of the chunk keeps.
	pub       *publish.Ladder
	ladder    []int
	rungsDone map[string]transcode.RungResult
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
		region: cfg.Region,
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
	s.Ladder = slices.Clone(b.stats.Ladder)
	return s
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
			return transcode.Result{}, fmt.Errorf("encode segment %d on lambda: %w", job.Index+1, ctx.Err())
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
	key := segmentObject(s.run, job.Index)
	putURL, err := b.store.putURL(ctx, key)
	if err != nil {
		return transcode.Result{}, fmt.Errorf("presign %s: %w", b.store.objectURL(key), err)
	}
	remote.Source = srcURL
	req := Request{Version: segmentVersion, Job: remote, ResultURL: putURL}
	resp, rep, invokeTime, err := s.invokeWithProgress(ctx, req, progressObject(key), progress)
	if err != nil {
		return transcode.Result{}, err
	}
	if resp.Index != job.Index || resp.Frames != job.Frames {
		return transcode.Result{}, fmt.Errorf("segment %d: function answered for segment %d with %d frames, want %d: %w",
			job.Index+1, resp.Index+1, resp.Frames, job.Frames, transcode.ErrShortSegment)
	}

	t := time.Now()
	n, err := b.store.download(ctx, key, job.Output)
	if err != nil {
		return transcode.Result{}, fmt.Errorf("download segment %d from %s: %w", job.Index+1, b.store.objectURL(key), err)
	}
	download := time.Since(t)
	frames, err := mp4.VideoFrames(job.Output)
	if err != nil {
		return transcode.Result{}, fmt.Errorf("check segment %d: %w", job.Index+1, err)
	}
	if frames != job.Frames || n != resp.Bytes {
		return transcode.Result{}, fmt.Errorf("check segment %d: %w: downloaded %d frames in %d bytes, function made %d in %d",
			job.Index+1, transcode.ErrShortSegment, frames, n, resp.Frames, resp.Bytes)
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
		billed = BilledDuration(invokeTime)
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
		stats.GBSeconds, stats.USD = Cost(billed, memory, arch)
	}
	return stats
}

// sourceURL presigns a GET of the source: the copy this run staged, or the
// object an s3:// source names.
// errPresign marks a failure to presign a request's progress URL, before
// anything was invoked.
var errPresign = errors.New("presign")

// invokeWithProgress invokes req and, with progress, has the function
// report its frames to progressKey, polled until the invocation returns.
// It returns the invocation's time with its answer.
func (s *session) invokeWithProgress(ctx context.Context, req Request, progressKey string, progress ffmpeg.Progress) (Response, report, time.Duration, error) {
	b := s.b
	if progress != nil {
		u, err := b.store.putURL(ctx, progressKey)
		if err != nil {
			return Response{}, report{}, 0, fmt.Errorf("%w %s: %w", errPresign, b.store.objectURL(progressKey), err)
		}
		req.ProgressURL = u
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
	resp, rep, err := b.invoke(ctx, req)
	if stop != nil {
		stop()
	}
	return resp, rep, time.Since(t), err
}

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
