// Package transcode holds chunkcode's domain types, the Backend interface that
// encodes one segment, and the Pipeline that turns a source into an output:
// probe, plan, convert segments on a backend while the audio is encoded once,
// merge, verify.
//
// Backends live in sub-packages (transcode/lambda) or here (Local). The
// package never prints, reads flags or exits; the cmd package does.
package transcode

import (
	"context"
	"errors"
	"runtime"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// Errors a run can end with. Problems with an input file come back as an
// *media.Error.
var (
	// ErrShortSegment means an encoded segment has a different frame count
	// than planned.
	ErrShortSegment = errors.New("wrong frame count")
	// ErrSameFile means the output would overwrite the input.
	ErrSameFile = errors.New("output is the input file")
	// ErrVerify means the finished output failed a check against the source.
	ErrVerify = errors.New("output does not match the source")
	// ErrPermanent marks a segment failure that another try cannot fix,
	// such as a job a function refuses; the pipeline does not retry it.
	ErrPermanent = errors.New("permanent failure")
	// ErrSeekPastEnd means a segment's encode found no frame where the plan
	// put its start: the source is shorter than it was when probed.
	ErrSeekPastEnd = errors.New("no frames at the segment's start; the source may have changed")
)

// BackendName names a backend in flags and summaries.
type BackendName string

// The backends chunkcode has.
const (
	LocalBackend  BackendName = "local"
	LambdaBackend BackendName = "lambda"
)

// Properties describe a backend as data, so that the pipeline and cmd need
// not know which backend they hold.
type Properties struct {
	Name BackendName
	// Workers is how many segments to encode at once when the user does
	// not say: the cores here, or the invocations a service takes.
	Workers int
	// SharesCores says the encodes run on this machine's cores, so the
	// pipeline divides the cores among the encodes running at once.
	SharesCores bool
	// Source, when not nil, reads sources this machine cannot open, such
	// as s3:// URLs, where they lie (see SourceReader).
	Source SourceReader
}

// Backend encodes segments. A Backend is long-lived and holds no state of
// any one run: each run starts a Session of its own, so a Backend is safe
// for concurrent use and for any number of runs, one after another or at
// the same time.
type Backend interface {
	// Properties describes the backend; the result does not change.
	Properties() Properties
	// Start begins a run that encodes segments of src, such as jobs, and
	// returns the session that holds its state. Start does the run's
	// preparation, such as staging the source where functions can read
	// it; jobs are every job still to encode, longest first. The caller
	// must Close the session, whether Start's run succeeds or not.
	Start(ctx context.Context, src *media.Media, jobs []Job) (Session, error)
}

// Session is one run on a backend. Encode is safe for concurrent use: the
// pipeline calls it from as many goroutines as it has workers.
//
// Encode must leave exactly job.Frames frames at job.Output, or return an
// error and leave nothing usable there. It may be called again for the same
// job after a failure, so it must be idempotent; an error that wraps
// ErrPermanent is not retried. progress, when non-nil, is called with the
// frames done so far in this attempt.
//
// Close is called once, after the last Encode, whether the run succeeded or
// not; it frees what the session holds, such as staged objects, unless
// keep asks it to leave intermediates in place.
type Session interface {
	Encode(ctx context.Context, job Job, progress ffmpeg.Progress) (Result, error)
	Close(ctx context.Context, keep bool) error
}

// SourceReader reads, for the pipeline, a source it cannot open itself,
// such as an s3:// URL on Lambda, so that the source is never read on this
// machine. The pipeline then calls ReadSource instead of probing the
// source, encoding its audio and reading it in the merge.
type SourceReader interface {
	// ReadsSource reports whether input is a source ReadSource reads.
	ReadsSource(input string) bool
	// ReadSource probes input, encodes its audio as AudioArgs does with
	// prof (unless prof copies it) and writes its Extras
	// (merger.ExtrasArgs, with the audio when prof copies it), leaving the
	// files in dir. The returned Media's Path is input.
	ReadSource(ctx context.Context, input string, prof Profile, dir string) (*Source, error)
}

// Source is what a SourceReader read from a source.
type Source struct {
	Media *media.Media
	// Audio is the encoded audio, "" when the source has none or the
	// profile copies it.
	Audio string
	// Extras is the file merger.ExtrasArgs wrote.
	Extras string
	// Remote is what reading it cost, as Result.Remote says.
	Remote *RemoteStats
	// Close, when not nil, frees what the read left elsewhere, such as the
	// objects a function wrote, unless keep; the pipeline calls it once,
	// at the end of the run.
	Close func(ctx context.Context, keep bool) error
}

// RemoteStats are what a remote backend reports of its work: where the time
// went, what was billed and what it cost. Local work has none.
type RemoteStats struct {
	// InvokeSeconds is the invocation as the client saw it.
	InvokeSeconds float64 `json:"invoke_seconds"`
	// EncodeSeconds and UploadSeconds are the function's own encode and
	// upload of its result.
	EncodeSeconds float64 `json:"remote_encode_seconds"`
	UploadSeconds float64 `json:"remote_upload_seconds"`
	// DownloadSeconds is fetching the result back to this machine.
	DownloadSeconds float64 `json:"download_seconds"`
	BilledSeconds   float64 `json:"billed_seconds"`
	// GBSeconds (billed memory × duration) and USD, the estimated cost,
	// are 0 when the function's memory size is not known.
	GBSeconds float64 `json:"gb_seconds,omitempty"`
	USD       float64 `json:"usd,omitempty"`
}

// Add adds o's counters to r's.
func (r *RemoteStats) Add(o RemoteStats) {
	r.InvokeSeconds += o.InvokeSeconds
	r.EncodeSeconds += o.EncodeSeconds
	r.UploadSeconds += o.UploadSeconds
	r.DownloadSeconds += o.DownloadSeconds
	r.BilledSeconds += o.BilledSeconds
	r.GBSeconds += o.GBSeconds
	r.USD += o.USD
}

// Local encodes segments with ffmpeg on this machine.
type Local struct {
	Runner ffmpeg.Runner
}

var (
	_ Backend = (*Local)(nil)
	_ Session = localSession{}
)

// Properties says that Local runs one encode per core, on this machine's
// cores, and reads only local sources.
func (l *Local) Properties() Properties {
	return Properties{Name: LocalBackend, Workers: runtime.NumCPU(), SharesCores: true}
}

// Start returns a session that encodes with EncodeSegment; it holds nothing.
func (l *Local) Start(context.Context, *media.Media, []Job) (Session, error) {
	return localSession{runner: l.Runner}, nil
}

type localSession struct{ runner ffmpeg.Runner }

func (s localSession) Encode(ctx context.Context, job Job, progress ffmpeg.Progress) (Result, error) {
	return EncodeSegment(ctx, s.runner, job, progress)
}

func (localSession) Close(context.Context, bool) error { return nil }
