package transcode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/merger"
	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
	"golang.org/x/sync/errgroup"
)

// DefaultRetries is how many times a failed segment is tried again.
const DefaultRetries = 2

// AudioTolerance is how far an output audio track's duration may be from the
// source's.
const AudioTolerance = 0.050

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
// req.Output that was not there before and the input is untouched.
func (p *Pipeline) Run(ctx context.Context, req Request) (*Summary, error) {
	start := time.Now()
	backend := p.Backend
	if backend == nil {
		backend = &Local{Runner: p.Runner}
	}
	container, err := media.ContainerFor(req.Output)
	if err != nil {
		return nil, err
	}
	req.Profile = req.Profile.WithDefaults(container)
	if err := req.Profile.Check(container, req.Output); err != nil {
		return nil, err
	}
	props := backend.Properties()
	reader := props.Source
	remote := reader != nil && reader.ReadsSource(req.Input)
	if err := checkPaths(req.Input, req.Output, remote); err != nil {
		return nil, err
	}
	// The output is created, empty, before any work, so an output that
	// cannot be written fails now, naming it.
	removeLeftovers(req.Output)
	tmp, err := createTempOutput(req.Output)
	if err != nil {
		return nil, err
	}
	defer tmp.remove()
	if req.Workers <= 0 {
		req.Workers = props.Workers
	}
	sum := &Summary{Input: req.Input, Output: req.Output, Backend: props.Name, Codec: req.Profile.Codec,
		Workers: req.Workers, Threads: req.Profile.Threads}

	var session Session // set by convert once the backend has started
	finish := p.finisher(ctx, props.Name, &session, req.Keep, sum)
	defer finish()

	p.notify(Event{Kind: EventStage, Stage: StageProbe})
	t := time.Now()
	var src *media.Media
	var read *sourceFiles
	if remote {
		read, err = p.readSource(ctx, reader, req, sum)
		if read != nil {
			defer read.cleanup()
			src = read.Media
		}
	} else {
		var opts []string
		if !req.AllowPlaylists {
			opts = ffmpeg.SelfContained()
		}
		src, err = p.Runner.Probe(ctx, req.Input, opts...)
	}
	if err != nil {
		return nil, err
	}
	sum.Stages.Probe = time.Since(t).Seconds()
	if err := checkStreams(src, container); err != nil {
		return nil, err
	}

	t = time.Now()
	plan, err := splitter.New(src, splitter.Options{Workers: req.Workers, SegmentDuration: req.SegmentDuration})
	if err != nil {
		return nil, fmt.Errorf("%s: plan: %w", req.Input, err)
	}
	sum.Stages.Plan = time.Since(t).Seconds()
	sum.Segments, sum.Frames, sum.KeyframeCuts = len(plan.Segments), plan.Frames, plan.KeyframeCuts()
	if req.Profile.Threads == 0 && props.SharesCores {
		// Fewer segments than workers leave cores to the ones there are.
		req.Profile.Threads = Threads(min(req.Workers, len(plan.Segments)))
		sum.Threads = req.Profile.Threads
	}
	sum.Duration = src.VideoDuration()

	audioName := ""
	if read == nil && len(src.StreamsOf(media.Audio)) > 0 && req.Profile.AudioCodec != media.AudioCopy {
		audioName = "audio" + req.Profile.AudioCodec.Ext()
	}
	work, err := openWorkDir(req, remote, src, plan, audioName)
	if err != nil {
		return nil, err
	}
	defer work.close()
	if req.Keep || req.WorkDir != "" {
		sum.WorkDir = work.dir
	}
	p.notify(Event{Kind: EventPlanned, Summary: sum})
	if req.Resume && work.stale != "" {
		p.notify(Event{Kind: EventWarning, Err: fmt.Errorf("resume: encoding all %s again: %s", plural(len(plan.Segments), "segment"), work.stale)})
	}

	rotatePixels := src.Video.Rotation != 0 && !container.Rotation
	jobs := make([]Job, len(plan.Segments))
	for i, s := range plan.Segments {
		jobs[i] = Job{
			Index: s.Index, Source: src.Path, SeekMicros: s.SeekMicros, Frames: s.Frames,
			PrerollMicros: s.PrerollMicros, StartPTS: s.StartPTS,
			StreamIndex: src.Video.Index, TimeScale: timeScale(src.Video.TimeBase), FrameRate: src.Video.FrameRate,
			Rotation: src.Video.Rotation, RotatePixels: rotatePixels,
			Profile: req.Profile, Output: work.path(segmentName(s.Index)),
		}
	}

	audio, err := p.convert(ctx, req, backend, &session, src, read, plan, jobs, work, audioName, sum, finish)
	if err != nil {
		return nil, err
	}

	p.notify(Event{Kind: EventStage, Stage: StageMerge})
	t = time.Now()
	pieces := make([]merger.Piece, len(plan.Segments))
	for i, s := range plan.Segments {
		pieces[i] = merger.Piece{Path: work.path(segmentName(i)), Duration: plan.Duration(s)}
	}
	rotation := 0
	if !rotatePixels {
		rotation = src.Video.Rotation
	}
	var extras *merger.Extras
	if read != nil {
		extras = &merger.Extras{Path: read.Extras, Start: read.extrasStart}
	}
	err = merger.Merge(ctx, p.Runner, merger.Spec{
		Source: src, Extras: extras, Pieces: pieces, Audio: audio.path, AudioStart: audio.start, CopyAudio: req.Profile.AudioCodec == media.AudioCopy,
		Container: container, Rotation: rotation, WorkDir: work.dir, Output: tmp.path,
	})
	if err != nil {
		return nil, err
	}
	sum.Stages.Merge = time.Since(t).Seconds()

	p.notify(Event{Kind: EventStage, Stage: StageVerify})
	t = time.Now()
	if err := p.verify(ctx, src, tmp.path, req.Output); err != nil {
		return nil, err
	}
	sum.Stages.Verify = time.Since(t).Seconds()
	if err := tmp.commit(req.Output); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(req.Output); err == nil {
		sum.OutputBytes = fi.Size()
	}
	sum.WallSeconds = time.Since(start).Seconds()
	if sum.WallSeconds > 0 {
		sum.Speed = sum.Duration / sum.WallSeconds
	}
	return sum, nil
}

// encodedAudio is the audio file convert wrote, with where its container
// starts, which the merge needs.
type encodedAudio struct {
	path  string // "" for none
	start float64
}

// readSource has reader read the source into a temporary directory, which
// read.cleanup removes unless req.Keep. A failure is retried as a segment's
// is, unless the source is not media it can transcode or the error is not
// Retryable.
func (p *Pipeline) readSource(ctx context.Context, reader SourceReader, req Request, sum *Summary) (*sourceFiles, error) {
	dir, err := os.MkdirTemp("", "chunkcode-source-")
	if err != nil {
		return nil, fmt.Errorf("create source directory: %w", err)
	}
	read := &sourceFiles{}
	read.cleanup = func() {
		if read.Close != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cleanupTimeout())
			defer cancel()
			if err := read.Close(cctx, req.Keep); err != nil {
				p.warn(sum, fmt.Errorf("clean up: %w", err))
			}
		}
		if !req.Keep {
			os.RemoveAll(dir)
		}
	}
	var s *Source
	for attempt := 0; ; attempt++ {
		s, err = reader.ReadSource(ctx, req.Input, req.Profile, dir)
		var me *media.Error
		if err == nil || attempt >= req.Retries || ctx.Err() != nil || errors.As(err, &me) || !Retryable(err) {
			break
		}
		sum.Retries++
		p.notify(Event{Kind: EventWarning, Err: fmt.Errorf("retrying after: %w", err)})
	}
	if err != nil {
		return read, err
	}
	read.Source = *s
	addRemote(sum, s.Remote)
	return read, nil
}

// sourceFiles is what a SourceReader read, in a directory cleanup removes.
type sourceFiles struct {
	Source
	extrasStart float64 // where Extras' container starts, read by convert
	cleanup     func()
}

// finisher returns a function that closes the session *session, once it
// is set, once, however often it is called: after the last segment, or
// when the run ends before.
func (p *Pipeline) finisher(ctx context.Context, name BackendName, session *Session, keep bool, sum *Summary) func() {
	return sync.OnceFunc(func() {
		if *session == nil {
			return
		}
		// Cleanup runs after an interrupt too, but within CleanupTimeout;
		// a second interrupt ends the process (see cmd/chunkcode).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cleanupTimeout())
		defer cancel()
		if err := (*session).Close(cctx, keep); err != nil {
			p.warn(sum, fmt.Errorf("%s backend: clean up: %w", name, err))
		}
	})
}

// warn reports err, which does not fail the run, as an event and in the
// summary.
func (p *Pipeline) warn(sum *Summary, err error) {
	sum.Warnings = append(sum.Warnings, err.Error())
	p.notify(Event{Kind: EventWarning, Err: err})
}

// convert encodes every segment on the backend and, at the same time, the
// audio once over the whole file, unless read holds it already. It calls
// finish after the last segment.
func (p *Pipeline) convert(ctx context.Context, req Request, backend Backend, session *Session, src *media.Media, read *sourceFiles, plan *splitter.Plan, jobs []Job, work *workDir, audioName string, sum *Summary, finish func()) (encodedAudio, error) {
	p.notify(Event{Kind: EventStage, Stage: StageEncode})
	var pending []Job
	for _, j := range jobs {
		if req.Resume && p.segmentDone(j) {
			sum.ResumedSegments++
			p.notify(Event{Kind: EventFrames, Frames: j.Frames})
			p.notify(Event{Kind: EventSegment, Segment: plan.Segments[j.Index], Resumed: true, Result: Result{Index: j.Index, Frames: j.Frames}})
			continue
		}
		pending = append(pending, j)
	}
	// Longest first, so the last segments to finish are short ones.
	slices.SortStableFunc(pending, func(a, b Job) int { return b.Frames - a.Frames })

	defer finish()

	g, gctx := errgroup.WithContext(ctx)
	var audio encodedAudio
	if read != nil {
		// Read here, while the video is still encoding, rather than in
		// the merge, which waits for them.
		g.Go(func() error {
			start, err := merger.StartTime(gctx, p.Runner, read.Extras)
			read.extrasStart = start
			return err
		})
	}
	if read != nil && read.Audio != "" {
		audio.path = read.Audio
		g.Go(func() error {
			start, err := merger.StartTime(gctx, p.Runner, audio.path)
			audio.start = start
			return err
		})
	} else if audioName != "" {
		audio.path = work.path(audioName)
		g.Go(func() error {
			t := time.Now()
			if err := p.encodeAudio(gctx, req, src, work, audioName); err != nil {
				return err
			}
			// Read here, while the video is still encoding, rather than
			// in the merge, which waits for it.
			start, err := merger.StartTime(gctx, p.Runner, audio.path)
			if err != nil {
				return err
			}
			audio.start = start
			sum.Stages.Audio = time.Since(t).Seconds()
			return nil
		})
	}
	var resMu sync.Mutex
	g.Go(func() error {
		// The backend starts, such as staging the source for Lambda,
		// while the audio is encoded.
		if len(pending) == 0 {
			return nil
		}
		t := time.Now()
		s, err := backend.Start(gctx, src, pending)
		if s != nil {
			*session = s
		}
		if err != nil {
			return err
		}
		sum.Stages.Prepare = time.Since(t).Seconds()
		t = time.Now()
		pool, pctx := errgroup.WithContext(gctx)
		pool.SetLimit(req.Workers)
		for _, j := range pending {
			if pctx.Err() != nil {
				break
			}
			pool.Go(func() error {
				res, retries, err := p.encodeWithRetries(pctx, s, j, plan.Segments[j.Index], req.Retries)
				resMu.Lock()
				sum.Retries += retries
				if err == nil {
					sum.Results = append(sum.Results, res)
					addRemote(sum, res.Remote)
				}
				resMu.Unlock()
				return err
			})
		}
		err = pool.Wait()
		sum.Stages.Encode = time.Since(t).Seconds()
		return err
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return encodedAudio{}, ctx.Err()
		}
		return encodedAudio{}, err
	}
	slices.SortFunc(sum.Results, func(a, b Result) int { return a.Index - b.Index })
	return audio, nil
}

// Retryable reports whether another try of a segment that failed with err
// can pass: after a killed process, a timeout, a throttled or failed
// function or a short segment. A full disk, an ffmpeg that exited with an
// error on this machine (a setting its encoder refuses, a frame too large),
// a seek past the end and anything marked ErrPermanent are not retried.
func Retryable(err error) bool {
	var ee *ffmpeg.ExitError
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrPermanent), errors.Is(err, ffmpeg.ErrNoSpace), errors.Is(err, ErrSeekPastEnd):
		return false
	case errors.As(err, &ee):
		return ee.Code < 0 // killed by a signal
	}
	return true
}

// plural is n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// encodeWithRetries encodes one segment into a temporary file and renames it
// into place once the backend has checked its frame count.
func (p *Pipeline) encodeWithRetries(ctx context.Context, session Session, job Job, seg splitter.Segment, retries int) (Result, int, error) {
	final := job.Output
	job.Output = partName(final)
	defer os.Remove(job.Output)
	var err error
	for attempt := 0; attempt <= retries; attempt++ {
		if err := ctx.Err(); err != nil {
			return Result{}, attempt, err
		}
		if attempt > 0 {
			p.notify(Event{Kind: EventRetry, Segment: seg, Err: err})
		}
		done := 0
		var res Result
		res, err = session.Encode(ctx, job, func(n int) {
			n = min(n, job.Frames)
			if n > done {
				p.notify(Event{Kind: EventFrames, Frames: n - done})
				done = n
			}
		})
		if err == nil {
			// --resume trusts a segment it finds: its data reach the
			// disk before its name does.
			err = renameSync(job.Output, final)
		}
		if err == nil {
			if done < job.Frames {
				p.notify(Event{Kind: EventFrames, Frames: job.Frames - done})
			}
			p.notify(Event{Kind: EventSegment, Segment: seg, Result: res})
			return res, attempt, nil
		}
		if done > 0 {
			p.notify(Event{Kind: EventFrames, Frames: -done})
		}
		if ctx.Err() != nil {
			return Result{}, attempt, ctx.Err()
		}
		if !Retryable(err) {
			return Result{}, attempt, fmt.Errorf("segment %d (frames %d-%d) failed and is not retried: %w",
				seg.Index+1, seg.First, seg.First+seg.Frames-1, err)
		}
	}
	return Result{}, retries, fmt.Errorf("segment %d (frames %d-%d) failed after %d attempts: %w",
		seg.Index+1, seg.First, seg.First+seg.Frames-1, retries+1, err)
}

// segmentDone reports whether job's output already exists with the planned
// frame count.
func (p *Pipeline) segmentDone(job Job) bool {
	n, err := mp4.VideoFrames(job.Output)
	return err == nil && n == job.Frames
}

// encodeAudio encodes every audio track of src, once, over the whole file.
// With req.Resume, audio an earlier run finished for the same input and
// settings is reused.
func (p *Pipeline) encodeAudio(ctx context.Context, req Request, src *media.Media, work *workDir, name string) error {
	if req.Resume && work.audioDone(name) {
		return nil
	}
	out := work.path(name)
	tmp := out + ".part"
	defer os.Remove(tmp)
	args := AudioArgs(src, req.Profile, tmp)
	if err := p.Runner.WithHugePages().Run(ctx, args, nil); err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	if err := renameSync(tmp, out); err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	return work.markAudio(name)
}

// timeScale returns the MP4 time scale that holds tb's timestamps exactly,
// or 0 to let ffmpeg choose.
func timeScale(tb media.Rational) int64 {
	if tb.Num == 1 && tb.Den >= 1000 && tb.Den <= 10_000_000 {
		return tb.Den
	}
	return 0
}
