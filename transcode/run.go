package transcode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/internal/atomicfile"
	"github.com/chunkcode/chunkcode/merger"
	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"golang.org/x/sync/errgroup"
)

// run is the state of one Pipeline.Run. Each stage method fills in what the
// stages after it read; close frees what they left, whether the run
// succeeded or not.
type run struct {
	p         *Pipeline
	req       Request // with the profile's defaults and the workers filled in
	backend   Backend
	props     Properties
	container media.Container
	remote    bool // props.Source reads the input
	start     time.Time
	sum       *Summary
	tmp       *tempOutput // the output until commit

	session Session // set by convert once the backend has started
	finish  func()  // closes session once, however often it is called

	src       *media.Media // set by probe
	read      *sourceFiles // what props.Source read; nil for a local input
	plan      *splitter.Plan
	work      *workDir
	audioName string // the audio file to encode in work, "" for none
	jobs      []Job
	audio     encodedAudio // set by convert

	span *observe.Span // the run's; nil when not traced
	mu   sync.Mutex
	busy []observe.Busy // the segment attempts, by worker slot
}

// encodedAudio is the audio file convert wrote, with where its container
// starts, which the merge needs.
type encodedAudio struct {
	path  string // "" for none
	start float64
}

// sourceFiles is what a SourceReader read, in a directory cleanup removes.
type sourceFiles struct {
	Source
	extrasStart float64 // where Extras' container starts, read by convert
	cleanup     func()
}

// newRun checks req and creates the run's temporary output, before any
// work, so an output that cannot be written fails now, naming it.
func (p *Pipeline) newRun(ctx context.Context, req Request) (*run, error) {
	r := &run{p: p, req: req, start: time.Now(), backend: p.Backend}
	if r.backend == nil {
		r.backend = &Local{Runner: p.Runner}
	}
	var err error
	if r.container, err = media.ContainerFor(req.Output); err != nil {
		return nil, err
	}
	r.req.Profile = req.Profile.WithDefaults(r.container)
	if err := r.req.Profile.Check(r.container, req.Output); err != nil {
		return nil, err
	}
	r.props = r.backend.Properties()
	r.remote = r.props.Source != nil && r.props.Source.ReadsSource(req.Input)
	if err := checkPaths(req.Input, req.Output, r.remote); err != nil {
		return nil, err
	}
	removeLeftovers(req.Output)
	if r.tmp, err = createTempOutput(req.Output); err != nil {
		return nil, err
	}
	if r.req.Workers <= 0 {
		r.req.Workers = r.props.Workers
	}
	r.sum = &Summary{Input: req.Input, Output: req.Output, Backend: r.props.Name, Codec: r.req.Profile.Codec,
		Workers: r.req.Workers, Threads: r.req.Profile.Threads}
	r.finish = sync.OnceFunc(func() { r.closeSession(ctx) })
	return r, nil
}

// close frees what the run holds: the work directory, what the source read
// left, the backend's session and the temporary output.
func (r *run) close() {
	if r.work != nil {
		r.work.close()
	}
	if r.read != nil {
		r.read.cleanup()
	}
	r.finish()
	r.tmp.remove()
}

// probe probes the source, or has the backend's SourceReader read it, and
// checks that the output container can hold its streams.
func (r *run) probe(ctx context.Context) error {
	r.notify(Event{Kind: EventStage, Stage: StageProbe})
	t := time.Now()
	var err error
	if r.remote {
		r.read, err = r.readSource(ctx)
		if r.read != nil {
			r.src = r.read.Media
		}
	} else {
		var opts []string
		if !r.req.AllowPlaylists {
			opts = ffmpeg.SelfContained()
		}
		r.src, err = r.p.Runner.Probe(ctx, r.req.Input, opts...)
	}
	if err != nil {
		return err
	}
	r.sum.Stages.Probe = time.Since(t).Seconds()
	return checkStreams(r.src, r.container)
}

// readSource has the backend's SourceReader read the source into a
// temporary directory, which read.cleanup removes unless req.Keep. A failure
// is retried as a segment's is, unless the source is not media it can
// transcode.
func (r *run) readSource(ctx context.Context) (*sourceFiles, error) {
	dir, err := os.MkdirTemp("", "chunkcode-source-")
	if err != nil {
		return nil, fmt.Errorf("create source directory: %w", err)
	}
	read := &sourceFiles{}
	read.cleanup = func() {
		if read.Close != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.p.cleanupTimeout())
			defer cancel()
			if err := read.Close(cctx, r.req.Keep); err != nil {
				r.warn(fmt.Errorf("clean up: %w", err))
			}
		}
		if !r.req.Keep {
			os.RemoveAll(dir)
		}
	}
	retryable := func(err error) bool {
		var me *media.Error
		return !errors.As(err, &me) && Retryable(err)
	}
	var s *Source
	_, err = retry(ctx, r.req.Retries, retryable, func(err error) {
		r.sum.Retries++
		r.notify(Event{Kind: EventWarning, Err: fmt.Errorf("retrying after: %w", err)})
	}, func() (err error) {
		s, err = r.props.Source.ReadSource(ctx, r.req.Input, r.req.Profile, dir)
		return err
	})
	if err != nil {
		return read, err
	}
	read.Source = *s
	addRemote(r.sum, s.Remote)
	return read, nil
}

// planSegments splits the source into segments, opens the work directory for them
// and makes their jobs.
func (r *run) planSegments(context.Context) error {
	t := time.Now()
	// The plan probe shows, from the same function.
	p, err := NewPlan(r.src, r.req, r.props)
	if err != nil {
		return err
	}
	plan := p.Split
	r.plan, r.req.Profile, r.sum.Threads = plan, p.Profile, p.Profile.Threads
	r.sum.Stages.Plan = time.Since(t).Seconds()
	r.sum.Segments, r.sum.Frames, r.sum.KeyframeCuts = len(plan.Segments), plan.Frames, plan.KeyframeCuts()
	r.sum.Duration = r.src.VideoDuration()

	if r.read == nil && len(r.src.StreamsOf(media.Audio)) > 0 && r.req.Profile.AudioCodec != media.AudioCopy {
		r.audioName = "audio" + r.req.Profile.AudioCodec.Ext()
	}
	if r.work, err = openWorkDir(r.req, r.remote, r.src, plan, r.audioName); err != nil {
		return err
	}
	if r.req.Keep || r.req.WorkDir != "" {
		r.sum.WorkDir = r.work.dir
	}
	r.notify(Event{Kind: EventPlanned, Summary: r.sum})
	if r.req.Resume && r.work.stale != "" {
		r.notify(Event{Kind: EventWarning, Err: fmt.Errorf("resume: encoding all %s again: %s", plural(len(plan.Segments), "segment"), r.work.stale)})
	}
	r.jobs = p.Jobs(r.src, r.work.dir)
	return nil
}

// convert encodes every segment on the backend and, at the same time, the
// audio once over the whole file, unless the source read holds it already.
// It closes the backend's session after the last segment.
func (r *run) convert(ctx context.Context) error {
	pending := r.pending()
	defer r.finish()

	g, gctx := errgroup.WithContext(ctx)
	if r.read != nil {
		// Read here, while the video is still encoding, rather than in
		// the merge, which waits for them.
		g.Go(func() error {
			start, err := merger.StartTime(gctx, r.p.Runner, r.read.Extras)
			r.read.extrasStart = start
			return err
		})
	}
	if r.read != nil && r.read.Audio != "" {
		r.audio.path = r.read.Audio
		g.Go(func() error {
			start, err := merger.StartTime(gctx, r.p.Runner, r.audio.path)
			r.audio.start = start
			return err
		})
	} else if r.audioName != "" {
		r.audio.path = r.work.path(r.audioName)
		g.Go(func() error { return r.traced(gctx, StageAudio, r.encodeAudio) })
	}
	g.Go(func() error { return r.encode(gctx, pending) })
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	slices.SortFunc(r.sum.Results, func(a, b Result) int { return a.Index - b.Index })
	return nil
}

// pending returns the jobs still to encode, longest first, so the last
// segments to finish are short ones. With req.Resume, segments an earlier
// run finished are reported done instead.
func (r *run) pending() []Job {
	var pending []Job
	for _, j := range r.jobs {
		if r.req.Resume && segmentDone(j) {
			r.sum.ResumedSegments++
			r.notify(Event{Kind: EventFrames, Frames: j.Frames})
			r.notify(Event{Kind: EventSegment, Segment: r.plan.Segments[j.Index], Resumed: true, Result: Result{Index: j.Index, Frames: j.Frames}})
			continue
		}
		pending = append(pending, j)
	}
	slices.SortStableFunc(pending, func(a, b Job) int { return b.Frames - a.Frames })
	return pending
}

// encode starts the backend's session, such as staging the source for
// Lambda while the audio is encoded, and encodes pending on it, req.Workers
// at a time.
//
// Each of the workers has a slot (observe.Slots), which its attempts'
// spans name; the summary's utilization and idle tail are of those slots.
func (r *run) encode(ctx context.Context, pending []Job) (err error) {
	if len(pending) == 0 {
		return nil
	}
	r.notify(Event{Kind: EventStage, Stage: StagePrepare})
	t := time.Now()
	sctx, staging := r.p.Recorder.Stage(ctx, observe.StagePrepare)
	s, err := r.backend.Start(sctx, r.src, pending)
	staging.End(err)
	if s != nil {
		r.session = s
	}
	if err != nil {
		return err
	}
	r.sum.Stages.Prepare = time.Since(t).Seconds()
	r.notify(Event{Kind: EventStage, Stage: StageEncode})
	ctx, span := r.p.Recorder.Stage(ctx, string(StageEncode))
	defer func() { span.End(err) }()
	// No more workers than segments: the timeline draws a lane each.
	workers := min(r.req.Workers, len(pending))
	r.span.SetAttributes(observe.KeyWorkers.Int(workers))
	slots := observe.NewSlots(workers)
	t = time.Now()
	var mu sync.Mutex
	pool, pctx := errgroup.WithContext(ctx)
	pool.SetLimit(workers)
	for _, j := range pending {
		if pctx.Err() != nil {
			break
		}
		pool.Go(func() error {
			slot := slots.Take()
			defer slots.Put(slot)
			res, retries, err := r.encodeWithRetries(pctx, j, r.plan.Segments[j.Index], slot)
			mu.Lock()
			defer mu.Unlock()
			r.sum.Retries += retries
			if err == nil {
				r.sum.Results = append(r.sum.Results, res)
				addRemote(r.sum, res.Remote)
			}
			return err
		})
	}
	err = pool.Wait()
	r.sum.Stages.Encode = time.Since(t).Seconds()
	wall := observe.Interval{Start: t, End: time.Now()}
	r.sum.Utilization = observe.Utilization(r.busy, workers, wall)
	r.sum.TailSeconds = observe.TailSeconds(r.busy, workers, wall)
	return err
}

// encodeWithRetries encodes one segment into a temporary file and renames it
// into place once the backend has checked its frame count, on the worker
// slot. It returns how many times it retried. Each attempt has a span.
func (r *run) encodeWithRetries(ctx context.Context, job Job, seg splitter.Segment, slot int) (Result, int, error) {
	final := job.Output
	job.Output = partName(final)
	defer os.Remove(job.Output)
	var res Result
	attempt := 0
	retries, err := retry(ctx, r.req.Retries, Retryable, func(err error) {
		r.notify(Event{Kind: EventRetry, Segment: seg, Err: err})
	}, func() (err error) {
		if err := ctx.Err(); err != nil {
			return err
		}
		attempt++
		ctx, span := r.p.Recorder.Attempt(ctx, observe.Attempt{
			Segment: seg.Index + 1, Frames: job.Frames, Backend: string(r.props.Name), Number: attempt, Worker: slot,
		})
		start := time.Now()
		defer func() {
			span.End(err)
			r.mu.Lock()
			r.busy = append(r.busy, observe.Busy{Worker: slot, Interval: observe.Interval{Start: start, End: time.Now()}})
			r.mu.Unlock()
		}()
		done := 0
		res, err = r.session.Encode(ctx, job, func(n int) {
			n = min(n, job.Frames)
			if n > done {
				r.notify(Event{Kind: EventFrames, Frames: n - done})
				done = n
			}
		})
		if err == nil {
			// --resume trusts a segment it finds: its data reach the
			// disk before its name does.
			err = atomicfile.Rename(job.Output, final)
		}
		if err != nil {
			if done > 0 {
				r.notify(Event{Kind: EventFrames, Frames: -done})
			}
			return err
		}
		if done < job.Frames {
			r.notify(Event{Kind: EventFrames, Frames: job.Frames - done})
		}
		r.notify(Event{Kind: EventSegment, Segment: seg, Result: res})
		return nil
	})
	switch {
	case err == nil:
		return res, retries, nil
	case ctx.Err() != nil:
		return Result{}, retries, ctx.Err()
	case !Retryable(err):
		return Result{}, retries, fmt.Errorf("segment %d (frames %d-%d) failed and is not retried: %w",
			seg.Index+1, seg.First, seg.First+seg.Frames-1, err)
	}
	return Result{}, retries, fmt.Errorf("segment %d (frames %d-%d) failed after %s: %w",
		seg.Index+1, seg.First, seg.First+seg.Frames-1, plural(retries+1, "attempt"), err)
}

// encodeAudio encodes every audio track of the source, once, over the whole
// file, and reads where the result starts. With req.Resume, audio an earlier
// run finished for the same input and settings is reused.
func (r *run) encodeAudio(ctx context.Context) error {
	r.notify(Event{Kind: EventStage, Stage: StageAudio})
	t := time.Now()
	total := audioDuration(r.src)
	if !r.req.Resume || !r.work.audioDone(r.audioName) {
		tmp := r.audio.path + ".part"
		defer os.Remove(tmp)
		args := AudioArgs(r.src, r.req.Profile, tmp)
		err := r.p.Runner.WithHugePages().RunTimed(ctx, args, func(s float64) {
			r.notify(Event{Kind: EventAudio, Seconds: min(s, total), Total: total})
		})
		if err != nil {
			return fmt.Errorf("encode audio: %w", err)
		}
		if err := atomicfile.Rename(tmp, r.audio.path); err != nil {
			return fmt.Errorf("encode audio: %w", err)
		}
		if err := r.work.markAudio(r.audioName); err != nil {
			return err
		}
	}
	// Read here, while the video is still encoding, rather than in the
	// merge, which waits for it.
	start, err := merger.StartTime(ctx, r.p.Runner, r.audio.path)
	if err != nil {
		return err
	}
	r.audio.start = start
	r.sum.Stages.Audio = time.Since(t).Seconds()
	r.notify(Event{Kind: EventAudio, Seconds: total, Total: total})
	return nil
}

// audioDuration is how long the audio streams of m last together, in
// seconds, or the container's duration when they do not say.
func audioDuration(m *media.Media) float64 {
	first, last := 0.0, 0.0
	for i, a := range m.StreamsOf(media.Audio) {
		if i == 0 || a.Start < first {
			first = a.Start
		}
		last = max(last, a.End)
	}
	if last > first {
		return last - first
	}
	return m.Duration
}

// merge joins the segments, the audio and the rest of the source into the
// temporary output.
func (r *run) merge(ctx context.Context) error {
	r.notify(Event{Kind: EventStage, Stage: StageMerge})
	t := time.Now()
	pieces := make([]merger.Piece, len(r.plan.Segments))
	for i, s := range r.plan.Segments {
		pieces[i] = merger.Piece{Path: r.work.path(segmentName(i)), Duration: r.plan.Duration(s)}
	}
	rotation := 0
	if !rotatesPixels(r.src.Video, r.container) {
		rotation = r.src.Video.Rotation
	}
	var extras *merger.Extras
	if r.read != nil {
		extras = &merger.Extras{Path: r.read.Extras, Start: r.read.extrasStart}
	}
	err := merger.Merge(ctx, r.p.Runner, merger.Spec{
		Source: r.src, Extras: extras, Pieces: pieces, Audio: r.audio.path, AudioStart: r.audio.start,
		CopyAudio: r.req.Profile.AudioCodec == media.AudioCopy,
		Container: r.container, Rotation: rotation, WorkDir: r.work.dir, Output: r.tmp.path,
	})
	if err != nil {
		return err
	}
	r.sum.Stages.Merge = time.Since(t).Seconds()
	return nil
}

// verify checks the temporary output against the source.
func (r *run) verify(ctx context.Context) error {
	r.notify(Event{Kind: EventStage, Stage: StageVerify})
	t := time.Now()
	if err := checkOutput(ctx, r.p.Runner, r.src, r.tmp.path, r.req.Output); err != nil {
		return err
	}
	r.sum.Stages.Verify = time.Since(t).Seconds()
	return nil
}

// commit moves the verified output into place and completes the summary.
func (r *run) commit(context.Context) error {
	if err := r.tmp.commit(r.req.Output); err != nil {
		return err
	}
	if fi, err := os.Stat(r.req.Output); err == nil {
		r.sum.OutputBytes = fi.Size()
	}
	r.sum.WallSeconds = time.Since(r.start).Seconds()
	if r.sum.WallSeconds > 0 {
		r.sum.Speed = r.sum.Duration / r.sum.WallSeconds
	}
	r.notify(Event{Kind: EventStage, Stage: StageDone})
	return nil
}

// closeSession closes the backend's session, once it has started. Cleanup
// runs after an interrupt too, but within the cleanup timeout; a second
// interrupt ends the process (see cmd/chunkcode).
func (r *run) closeSession(ctx context.Context) {
	if r.session == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.p.cleanupTimeout())
	defer cancel()
	if err := r.session.Close(cctx, r.req.Keep); err != nil {
		r.warn(fmt.Errorf("%s backend: clean up: %w", r.props.Name, err))
	}
}

// traced runs stage under a span named name, or as it is when name is "".
func (r *run) traced(ctx context.Context, name Stage, stage func(context.Context) error) error {
	if name == "" {
		return stage(ctx)
	}
	ctx, span := r.p.Recorder.Stage(ctx, string(name))
	err := stage(ctx)
	span.End(err)
	return err
}

// notify passes e, stamped with the run's trace, to the pipeline's Notify.
func (r *run) notify(e Event) {
	if r.sum != nil {
		e.TraceID = r.sum.TraceID
	}
	r.p.notify(e)
}

// warn reports err, which does not fail the run, as an event and in the
// summary.
func (r *run) warn(err error) {
	r.sum.Warnings = append(r.sum.Warnings, err.Error())
	r.notify(Event{Kind: EventWarning, Err: err})
}

// plural is n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
