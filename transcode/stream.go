package transcode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"golang.org/x/sync/errgroup"
)

// DefaultSegmentLength is the media segment length of a ladder.
const DefaultSegmentLength = 6 * time.Second

// DefaultLadderAudioBitrate is a ladder's AAC bit rate per audio track.
const DefaultLadderAudioBitrate = "128k"

// Manifest kinds a ladder can be written with.
const (
	HLS  = "hls"
	DASH = "dash"
)

// Default manifest names, for the kind OUTPUT does not name.
const (
	DefaultMaster = "master.m3u8"
	DefaultMPD    = "manifest.mpd"
)

// IsLadder reports whether output names a streaming ladder: an HLS master
// playlist (.m3u8) or a DASH MPD (.mpd).
func IsLadder(output string) bool {
	switch strings.ToLower(filepath.Ext(output)) {
	case ".m3u8", ".mpd":
		return true
	}
	return false
}

// ChunkEncoder is what a Backend that can encode a ladder provides: it
// runs EncodeChunk for job, locally or elsewhere. It is safe for
// concurrent use.
type ChunkEncoder interface {
	EncodeChunk(ctx context.Context, job ChunkJob, workDir string, progress ffmpeg.Progress) (ChunkResult, error)
}

var _ ChunkEncoder = (*Local)(nil)

// EncodeChunk encodes job on this machine.
func (l *Local) EncodeChunk(ctx context.Context, job ChunkJob, workDir string, progress ffmpeg.Progress) (ChunkResult, error) {
	return EncodeChunk(ctx, l.Runner, job, workDir, progress)
}

// RungSummary is one video rung of a finished ladder.
type RungSummary struct {
	Height           int    `json:"height"`
	Width            int    `json:"width"`
	Codecs           string `json:"codecs"`
	Bandwidth        int    `json:"bandwidth"`
	AverageBandwidth int    `json:"average_bandwidth"`
	MaxrateKbps      int    `json:"maxrate_kbps"`
	Frames           int    `json:"frames"`
	Segments         int    `json:"segments"`
	Bytes            int64  `json:"bytes"`
	Playlist         string `json:"playlist"`
}

// ladderRun is the state of one ladder run.
type ladderRun struct {
	p         *Pipeline
	req       Request
	enc       ChunkEncoder
	start     time.Time
	sum       *Summary
	prof      Profile
	outDir    string
	master    string // HLS master playlist name, "" for none
	mpd       string // DASH MPD name, "" for none
	build     string // the ladder is built here, beside outDir
	work      string // encoder outputs before they are cut
	src       *media.Media
	rungs     []ladder.Rung
	plan      *splitter.Aligned
	width     int // displayed size of the source
	height    int
	chunks    []ChunkResult
	video     []*track
	audio     []*track
	subs      []*subtitles
	created   []string // directories above outDir this run created, deepest first
	committed bool     // the ladder is in place

	// A ladder encoded on a ChunkBackend, and one published (see
	// ladder_remote.go).
	chunkBackend ChunkBackend
	session      ChunkSession
	staged       map[string]int64 // media staged with Request.Publish, by name
}

// runLadder transcodes req.Input to a ladder of renditions packaged as
// CMAF segments with HLS and/or DASH manifests. The ladder is built in a
// directory beside req.Output's and moved into place once verified.
func (p *Pipeline) runLadder(ctx context.Context, req Request) (*Summary, error) {
	r := &ladderRun{p: p, req: req, start: time.Now()}
	var backend Backend = &Local{Runner: p.Runner}
	if p.Backend != nil {
		backend = p.Backend
	}
	if enc, ok := backend.(ChunkEncoder); ok && req.Publish == nil {
		r.enc = enc
	} else {
		cb, err := chunkBackendOf(backend)
		if err != nil {
			return nil, err
		}
		r.chunkBackend, r.staged = cb, map[string]int64{}
	}
	if r.req.Workers <= 0 {
		r.req.Workers = backend.Properties().Workers
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	r.sum.Backend = backend.Properties().Name
	defer r.close()
	defer r.closeRemote(ctx)
	// Each stage under a span of its own, as a file's run has them; the
	// audio, which runs beside the chunks, has its own too.
	stages := []struct {
		name  string // "" for no span
		stage func(context.Context) error
	}{{string(StageProbe), r.probe}, {string(StagePlan), r.planChunks}, {observe.StagePrepare, r.startChunks},
		{string(StageEncode), r.encode}, {string(StageMerge), r.merge}, {string(StageVerify), r.verify}, {"", r.commit}}
	for _, st := range stages {
		sctx, span := ctx, (*observe.Span)(nil)
		if st.name != "" {
			sctx, span = p.Recorder.Stage(ctx, st.name)
		}
		err := st.stage(sctx)
		span.End(err)
		if err != nil {
			return nil, err
		}
	}
	return r.sum, nil
}

// check validates the request and names what the ladder will write, before
// any work.
func (r *ladderRun) check() error {
	req := r.req
	prof := req.Profile.WithDefaults(media.Container{})
	if prof.Codec != media.H264 && prof.Codec != media.H265 {
		return settingf("codec", "a ladder is encoded with h264 or h265 for now, not %s", prof.Codec)
	}
	if err := prof.CheckVideo(); err != nil {
		return err
	}
	switch {
	case prof.Height != 0:
		return settingf("height", "a ladder takes its heights from --ladder, not --height")
	case prof.AudioCodec != "" && prof.AudioCodec != media.AAC:
		return settingf("audio_codec", "a ladder's audio is AAC, not %s", prof.AudioCodec)
	}
	prof.AudioCodec = media.AAC
	if prof.AudioBitrate == "" {
		prof.AudioBitrate = DefaultLadderAudioBitrate
	}
	r.prof = prof
	if req.SegmentLength == 0 {
		r.req.SegmentLength = DefaultSegmentLength
	}
	if r.req.SegmentLength < 0 {
		return fmt.Errorf("segment length %v is negative", req.SegmentLength)
	}
	r.outDir = filepath.Dir(req.Output)
	base := filepath.Base(req.Output)
	if req.Publish != nil {
		r.outDir, base = "", req.Publish.Target().Master
	}
	kinds := req.Manifests
	if len(kinds) == 0 {
		kinds = []string{HLS}
		if strings.EqualFold(filepath.Ext(base), ".mpd") {
			kinds = []string{DASH}
		}
	}
	for _, k := range kinds {
		switch k {
		case HLS:
			r.master = DefaultMaster
			if strings.EqualFold(filepath.Ext(base), ".m3u8") {
				r.master = base
			}
		case DASH:
			r.mpd = DefaultMPD
			if strings.EqualFold(filepath.Ext(base), ".mpd") {
				r.mpd = base
			}
		default:
			return settingf("manifests", "manifest %q is neither hls nor dash", k)
		}
	}
	if r.master != base && r.mpd != base {
		return settingf("manifests", "%s is not one of the manifests asked for", req.Output)
	}
	if _, remote := r.remoteSource(); !remote {
		if _, err := os.Stat(req.Input); err != nil {
			return &media.Error{Path: req.Input, Err: unwrapPathError(err)}
		}
	}
	if req.Publish != nil {
		return r.checkPublish()
	}
	if fi, err := os.Stat(r.outDir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", req.Output, r.outDir)
	}
	r.sum = &Summary{Input: req.Input, Output: req.Output, Backend: LocalBackend, Codec: prof.Codec, Workers: r.req.Workers}
	if r.master != "" {
		r.sum.Manifests = append(r.sum.Manifests, filepath.Join(r.outDir, r.master))
	}
	if r.mpd != "" {
		r.sum.Manifests = append(r.sum.Manifests, filepath.Join(r.outDir, r.mpd))
	}
	if req.NoClobber {
		for _, m := range []string{r.master, r.mpd} {
			if m == "" {
				continue
			}
			if _, err := os.Lstat(filepath.Join(r.outDir, m)); err == nil {
				return fmt.Errorf("%s: already exists; --no-clobber keeps it", filepath.Join(r.outDir, m))
			}
		}
	}
	return nil
}

// close removes the build and work directories; after a commit the build
// directory is empty.
func (r *ladderRun) close() {
	if r.work != "" {
		os.RemoveAll(r.work)
	}
	if r.build != "" {
		os.RemoveAll(r.build)
	}
	if !r.committed {
		for _, d := range r.created { // deepest first
			os.Remove(d) // only when empty
		}
	}
}

func (r *ladderRun) probe(ctx context.Context) error {
	r.p.notify(Event{Kind: EventStage, Stage: StageProbe})
	t := time.Now()
	var opts []string
	if !r.req.AllowPlaylists {
		opts = ffmpeg.SelfContained()
	}
	probe := r.p.Runner.Probe
	if sp, remote := r.remoteSource(); remote {
		probe = func(ctx context.Context, input string, _ ...string) (*media.Media, error) {
			return sp.ProbeSource(ctx, input)
		}
	}
	src, err := probe(ctx, r.req.Input, opts...)
	if err != nil {
		return err
	}
	if src.Video == nil || len(src.Frames) == 0 {
		return &media.Error{Path: r.req.Input, Err: media.ErrNoVideo}
	}
	r.src = src
	r.sum.Stages.Probe = time.Since(t).Seconds()
	return nil
}

// planChunks chooses the rungs, plans the media segments and chunks, and
// makes the build and work directories.
func (r *ladderRun) planChunks(context.Context) error {
	t := time.Now()
	v := r.src.Video
	r.width, r.height = v.Width, v.Height
	if v.Rotation == 90 || v.Rotation == -90 || v.Rotation == 270 || v.Rotation == -270 {
		r.width, r.height = r.height, r.width
	}
	if r.req.Ladder == nil {
		r.rungs = ladder.Auto(r.width, r.height)
	} else {
		for _, g := range r.req.Ladder {
			if g.Height > r.height {
				return settingf("ladder", "rung %dp is above the source's displayed height %d; a ladder never upscales", g.Height, r.height)
			}
		}
		r.rungs = ladder.Sized(r.req.Ladder, r.width, r.height)
	}
	if len(r.rungs) == 0 {
		return fmt.Errorf("%s: no ladder rung for a %dx%d source", r.req.Input, r.width, r.height)
	}
	plan, err := splitter.Align(r.src, r.req.SegmentLength, r.req.SegmentDuration, r.req.Workers)
	if err != nil {
		return fmt.Errorf("%s: plan: %w", r.req.Input, err)
	}
	r.plan = plan
	r.prof.Threads = r.req.Profile.Threads
	if r.prof.Threads == 0 {
		r.prof.Threads = Threads(min(r.req.Workers, len(plan.Chunks)))
	}
	r.sum.Threads = r.prof.Threads
	r.sum.Segments = len(plan.Chunks)
	r.sum.MediaSegments = len(plan.Starts)
	r.sum.SegmentLength = plan.Length.Seconds()
	for _, g := range r.rungs {
		r.sum.Rungs = append(r.sum.Rungs, RungSummary{Height: g.Height, Width: g.Width, MaxrateKbps: g.MaxrateKbps})
	}
	r.sum.Frames = plan.Frames
	r.sum.Duration = r.src.VideoDuration()
	for _, c := range plan.Chunks {
		if c.Keyframe {
			r.sum.KeyframeCuts++
		}
	}

	if r.req.Publish != nil {
		// Only the playlists and initialization segments are built here.
		if r.build, err = os.MkdirTemp(r.req.WorkDir, "chunkcode-publish-"); err != nil {
			return fmt.Errorf("create build directory: %w", err)
		}
	} else {
		// The directories above the output directory that are missing
		// are created, and removed again if the run fails.
		for d := filepath.Dir(r.outDir); ; d = filepath.Dir(d) {
			if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
				break
			}
			r.created = append(r.created, d)
		}
		if err := os.MkdirAll(filepath.Dir(r.outDir), 0o755); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
	}
	// Beside the output directory, so the ladder moves into place by
	// renaming.
	if r.build == "" {
		if r.build, err = os.MkdirTemp(filepath.Dir(r.outDir), "."+filepath.Base(r.outDir)+".chunkcode-"); err != nil {
			return fmt.Errorf("create build directory: %w", err)
		}
	}
	if r.work, err = os.MkdirTemp(r.req.WorkDir, "chunkcode-ladder-"); err != nil {
		return fmt.Errorf("create work directory: %w", err)
	}
	r.sum.Stages.Plan = time.Since(t).Seconds()
	r.p.notify(Event{Kind: EventPlanned, Summary: r.sum})
	return nil
}

// chunkJob returns the job of chunk c.
func (r *ladderRun) chunkJob(c splitter.Chunk) ChunkJob {
	job := NewJob(r.src, c.Segment, r.prof, media.Container{}, "")
	job.RotatePixels = true
	starts := make([]int64, c.Media)
	for i := range starts {
		starts[i], _ = r.plan.SegmentPTS(r.src.Frames, c.FirstMedia+i)
	}
	return ChunkJob{
		Job: job, Rungs: r.rungs, FirstMedia: c.FirstMedia, KeyFrames: r.plan.KeyFrames(c),
		Starts: starts, TimeBase: r.plan.TimeBase, Dir: r.build,
	}
}

// encode runs the chunks, longest first, req.Workers at a time, while the
// audio is encoded.
func (r *ladderRun) encode(ctx context.Context) error {
	r.p.notify(Event{Kind: EventStage, Stage: StageEncode})
	t := time.Now()
	chunks := slices.Clone(r.plan.Chunks)
	slices.SortStableFunc(chunks, func(a, b splitter.Chunk) int { return b.Frames - a.Frames })
	g, gctx := errgroup.WithContext(ctx)
	if len(r.src.StreamsOf(media.Audio)) > 0 {
		g.Go(func() error {
			actx, span := r.p.Recorder.Stage(gctx, observe.StageAudio)
			err := r.encodeAudio(actx)
			span.End(err)
			return err
		})
	}
	if len(r.src.StreamsOf(media.Subtitle)) > 0 {
		g.Go(func() error { return r.convertSubtitles(gctx) })
	}
	var mu sync.Mutex
	// No more workers than chunks: the timeline draws a lane each.
	workers := min(r.req.Workers, len(chunks))
	slots := observe.NewSlots(workers)
	var busy []observe.Busy
	g.Go(func() error {
		pool, pctx := errgroup.WithContext(gctx)
		pool.SetLimit(workers)
		for _, c := range chunks {
			if pctx.Err() != nil {
				break
			}
			pool.Go(func() error {
				slot := slots.Take()
				defer slots.Put(slot)
				res, retries, err := r.encodeChunk(pctx, c, slot, func(b observe.Busy) {
					mu.Lock()
					busy = append(busy, b)
					mu.Unlock()
				})
				mu.Lock()
				defer mu.Unlock()
				r.sum.Retries += retries
				if err == nil {
					r.chunks = append(r.chunks, res)
				}
				return err
			})
		}
		return pool.Wait()
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	slices.SortFunc(r.chunks, func(a, b ChunkResult) int { return a.Index - b.Index })
	for _, c := range r.chunks {
		res := Result{Index: c.Index, Frames: c.Frames, EncodeSeconds: c.EncodeSeconds}
		for _, rr := range c.Rungs {
			for _, s := range rr.Segments {
				res.Bytes += s.Bytes
			}
		}
		r.sum.Results = append(r.sum.Results, res)
	}
	r.sum.Stages.Encode = time.Since(t).Seconds()
	wall := observe.Interval{Start: t, End: time.Now()}
	r.sum.Utilization = observe.Utilization(busy, workers, wall)
	r.sum.TailSeconds = observe.TailSeconds(busy, workers, wall)
	return nil
}

// merge is a ladder's merge stage: it joins the chunks' segments into
// renditions, stages them when the ladder is published, and writes the
// manifests.
func (r *ladderRun) merge(ctx context.Context) error {
	t := time.Now()
	if err := r.assemble(ctx); err != nil {
		return err
	}
	if err := r.stageMedia(ctx); err != nil {
		return err
	}
	if err := r.writeManifests(ctx); err != nil {
		return err
	}
	r.sum.Stages.Merge = time.Since(t).Seconds()
	return nil
}

func (r *ladderRun) encodeChunk(ctx context.Context, c splitter.Chunk, slot int, busy func(observe.Busy)) (ChunkResult, int, error) {
	job := r.chunkJob(c)
	var res ChunkResult
	attempt := 0
	retries, err := retry(ctx, r.req.Retries, Retryable, func(err error) {
		r.p.notify(Event{Kind: EventRetry, Segment: c.Segment, Err: err})
	}, func() (err error) {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Each attempt has a span on its worker slot, as a segment's has.
		attempt++
		ctx, span := r.p.Recorder.Attempt(ctx, observe.Attempt{
			Segment: c.Index + 1, Frames: job.Frames, Backend: string(r.sum.Backend), Number: attempt, Worker: slot,
		})
		start := time.Now()
		defer func() {
			span.End(err)
			busy(observe.Busy{Worker: slot, Interval: observe.Interval{Start: start, End: time.Now()}})
		}()
		done := 0
		res, err = r.enc.EncodeChunk(ctx, job, r.work, func(n int) {
			n = min(n, job.Frames)
			if n > done {
				r.p.notify(Event{Kind: EventFrames, Frames: n - done})
				done = n
			}
		})
		if err != nil {
			if done > 0 {
				r.p.notify(Event{Kind: EventFrames, Frames: -done})
			}
			return err
		}
		if done < job.Frames {
			r.p.notify(Event{Kind: EventFrames, Frames: job.Frames - done})
		}
		r.p.notify(Event{Kind: EventSegment, Segment: c.Segment, Result: Result{Index: c.Index, Frames: job.Frames, EncodeSeconds: res.EncodeSeconds}})
		return nil
	})
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("chunk %d (frames %d-%d) failed after %s: %w", c.Index+1, c.First, c.First+c.Frames-1, plural(retries+1, "attempt"), err)
	}
	return res, retries, err
}

// commit moves the verified ladder into the output directory: the whole
// build directory when the output directory does not exist, else every
// entry of the ladder, replacing an entry of the same name, with the
// manifests last so that no manifest names a segment not yet in place.
func (r *ladderRun) commit(ctx context.Context) error {
	if r.req.Publish != nil {
		return r.commitPublish(ctx)
	}
	entries, err := os.ReadDir(r.build)
	if err != nil {
		return err
	}
	for _, e := range entries {
		r.sum.OutputBytes += dirSize(filepath.Join(r.build, e.Name()))
	}
	if _, err := os.Lstat(r.outDir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(r.build, r.outDir); err != nil {
			return fmt.Errorf("move ladder into place: %w", err)
		}
		r.build = ""
	} else {
		// Directories first, then the media playlists in them are in
		// place with their segments, then the manifests.
		slices.SortStableFunc(entries, func(a, b os.DirEntry) int {
			switch {
			case a.IsDir() == b.IsDir():
				return 0
			case a.IsDir():
				return -1
			}
			return 1
		})
		for _, e := range entries {
			if err := replace(filepath.Join(r.build, e.Name()), filepath.Join(r.outDir, e.Name())); err != nil {
				return fmt.Errorf("move ladder into place: %w", err)
			}
		}
	}
	r.committed = true
	r.sum.WallSeconds = time.Since(r.start).Seconds()
	if r.sum.WallSeconds > 0 {
		r.sum.Speed = r.sum.Duration / r.sum.WallSeconds
	}
	r.p.notify(Event{Kind: EventStage, Stage: StageDone})
	return nil
}

// replace renames from to to; a directory already at to is renamed aside
// first and removed once from is in place.
func replace(from, to string) error {
	fi, err := os.Lstat(to)
	if err != nil || !fi.IsDir() {
		return os.Rename(from, to)
	}
	old, err := os.MkdirTemp(filepath.Dir(to), "."+filepath.Base(to)+".old-")
	if err != nil {
		return err
	}
	aside := filepath.Join(old, filepath.Base(to))
	if err := os.Rename(to, aside); err != nil {
		os.Remove(old)
		return err
	}
	if err := os.Rename(from, to); err != nil {
		os.Rename(aside, to)
		os.Remove(old)
		return err
	}
	return os.RemoveAll(old)
}

func dirSize(path string) int64 {
	var n int64
	filepath.Walk(path, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// warn reports err, which does not fail the run, as an event and in the
// summary.
func (r *ladderRun) warn(err error) {
	r.sum.Warnings = append(r.sum.Warnings, err.Error())
	r.p.notify(Event{Kind: EventWarning, Err: err})
}
