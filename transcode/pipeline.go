package transcode

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"github.com/chunkcode/chunkcode/transcode/publish"
)

// DefaultRetries is how many times a failed segment is tried again.
const DefaultRetries = 2

// Request is one transcode.
type Request struct {
	Input   string
	Output  string
	Profile Profile
	// Workers is how many segments are encoded at once; 0 means one per
	// core for the local backend.
	Workers int
	// SegmentDuration is the target segment length; 0 is automatic.
	SegmentDuration time.Duration
	// WorkDir keeps intermediates; "" uses a temporary directory that is
	// removed afterwards.
	WorkDir string
	// Resume reuses verified segments already in WorkDir.
	Resume bool
	// Keep leaves intermediates in place.
	Keep bool
	// Retries is how many times a failed segment is retried; use
	// DefaultRetries for the default.
	Retries int
	// AllowPlaylists lets a local Input be a playlist or concat list (HLS,
	// DASH, ffconcat), which makes ffmpeg read the files it names. By
	// default only formats that hold their media themselves are read.
	AllowPlaylists bool

	// The fields below apply when Output is a ladder's manifest (see
	// IsLadder): an HLS master playlist (.m3u8) or a DASH MPD (.mpd).

	// Ladder holds the rungs, highest first, as ladder.Parse returns
	// them; nil is ladder.Auto for the source.
	Ladder []ladder.Rung
	// SegmentLength is the media segment length; 0 is
	// DefaultSegmentLength. SegmentDuration then sets the encode chunks'
	// length, rounded to whole media segments.
	SegmentLength time.Duration
	// Manifests lists the manifests to write, HLS and DASH, over one set
	// of segments; empty is the kind Output names.
	Manifests []string
	// NoClobber fails the run, before any work, when a manifest it would
	// write exists.
	NoClobber bool
	// Publish, when set, is where the ladder goes instead of a local
	// directory, on a ChunkBackend: Output is then the s3:// URL of its
	// manifest, the publish's target. The run commits the publish once
	// the ladder verifies, and aborts it otherwise.
	Publish *publish.Ladder
}

// CleanupTimeout bounds a backend's cleanup at the end of a run, such as
// deleting staged objects, so a hung service cannot keep a run alive.
const CleanupTimeout = 30 * time.Second

// Pipeline runs transcodes. Its zero value uses the local backend with
// ffmpeg from PATH.
type Pipeline struct {
	Runner  ffmpeg.Runner
	Backend Backend // nil means Local with Runner
	// Notify, when set, receives progress events.
	Notify func(Event)
	// CleanupTimeout bounds the backend's cleanup; 0 is CleanupTimeout.
	CleanupTimeout time.Duration
	// Recorder records each run's spans: the run, its stages and every
	// segment attempt (see observe). nil records nothing.
	Recorder *observe.Recorder

	mu sync.Mutex
}

func (p *Pipeline) cleanupTimeout() time.Duration {
	if p.CleanupTimeout > 0 {
		return p.CleanupTimeout
	}
	return CleanupTimeout
}

func (p *Pipeline) notify(e Event) {
	if p.Notify == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Notify(e)
}

// Threads returns the ffmpeg threads per segment encode that keep the cores
// busy without oversubscribing them when concurrent encodes run at once.
func Threads(concurrent int) int { return max(1, runtime.NumCPU()/max(concurrent, 1)) }

// Run transcodes req.Input to req.Output. On any error, nothing is left at
// req.Output that was not there before and the input is untouched. The
// stages run in order: probe (or read) the source, plan its segments,
// convert them on the backend while the audio is encoded, merge, verify and
// commit the output.
//
// When req.Output names a ladder's manifest (IsLadder), Run encodes every
// rung of the ladder instead and writes CMAF segments with HLS and/or DASH
// manifests beside Output, moving them into place once verified.
//
// With p.Recorder, the run has a span, each stage a span of its own under it
// and each segment attempt one under the encode's; the backend's find the
// Recorder with observe.FromContext.
func (p *Pipeline) Run(ctx context.Context, req Request) (sum *Summary, err error) {
	ctx, span := p.Recorder.Run(ctx, observe.RunInfo{Input: req.Input, Output: req.Output})
	defer func() { span.End(err) }()
	if IsLadder(req.Output) {
		return p.runLadder(ctx, req)
	}
	r, err := p.newRun(ctx, req)
	if err != nil {
		return nil, err
	}
	defer r.close()
	r.span, r.sum.TraceID = span, span.TraceID()
	span.SetAttributes(observe.KeyBackend.String(string(r.props.Name)), observe.KeyWorkers.Int(r.req.Workers))
	// convert traces its parts, which run at once: audio, prepare, encode.
	stages := []struct {
		name  Stage // "" for no span
		stage func(context.Context) error
	}{{StageProbe, r.probe}, {StagePlan, r.planSegments}, {"", r.convert}, {StageMerge, r.merge}, {StageVerify, r.verify}, {"", r.commit}}
	for _, st := range stages {
		if err := r.traced(ctx, st.name, st.stage); err != nil {
			return nil, err
		}
	}
	return r.sum, nil
}
