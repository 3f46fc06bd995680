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

// Backend encodes segments. Implementations must be safe for concurrent use:
// the pipeline calls Encode from as many goroutines as Workers allows.
//
// Encode must leave exactly job.Frames frames at job.Output, or return an
// error and leave nothing usable there. It may be called again for the same
// job after a failure, so it must be idempotent; an error that wraps
// ErrPermanent is not retried. progress, when non-nil, is
// called with the frames done so far in this attempt.
type Backend interface {
	Encode(ctx context.Context, job Job, progress ffmpeg.Progress) (Result, error)
	// Name identifies the backend in summaries: "local", "lambda".
	Name() string
}

// Preparer is implemented by backends that must do work once per run before
// any segment is encoded, such as staging the source where functions can read
// it. Prepare receives every job still to encode; Encode is called only after
// Prepare has returned without error.
type Preparer interface {
	Prepare(ctx context.Context, src *media.Media, jobs []Job) error
}

// Finisher is implemented by backends that hold run-wide resources, such as
// staged objects. Finish is called once, after the last Encode, whether the
// run succeeded or not; keep asks it to leave intermediates in place.
type Finisher interface {
	Finish(ctx context.Context, keep bool) error
}

// SourceReader is implemented by backends that read, for the pipeline, a
// source it cannot open itself, such as an s3:// URL on Lambda, so that the
// source is never read on this machine. The pipeline then calls
// ReadSource instead of probing the source, encoding its audio and reading
// it in the merge.
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
	// Remote holds backend-specific counters, as Result.Remote does.
	Remote map[string]float64
}

// Local encodes segments with ffmpeg on this machine.
type Local struct {
	Runner ffmpeg.Runner
}

var _ Backend = (*Local)(nil)

// Name returns "local".
func (l *Local) Name() string { return "local" }

// Encode runs EncodeSegment.
func (l *Local) Encode(ctx context.Context, job Job, progress ffmpeg.Progress) (Result, error) {
	return EncodeSegment(ctx, l.Runner, job, progress)
}
