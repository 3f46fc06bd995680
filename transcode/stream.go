package transcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	manifests "github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
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

// track is one rendition of a ladder as written in the build directory:
// its directory, init segment and media segments in order.
type track struct {
	dir       string
	info      mp4.Init
	segments  []MediaSegment
	durations []uint64 // per segment, on the presentation timeline, in info.Timescale units
}

func (t *track) seconds(i int) float64 { return float64(t.durations[i]) / float64(t.info.Timescale) }

func (t *track) rates() (manifests.Rates, error) {
	sizes := make([]int64, len(t.segments))
	secs := make([]float64, len(t.segments))
	for i, s := range t.segments {
		sizes[i], secs[i] = s.Bytes, t.seconds(i)
	}
	return manifests.Measure(sizes, secs)
}

func (t *track) playlist() manifests.Playlist {
	p := manifests.Playlist{Init: LadderInit}
	for i, s := range t.segments {
		p.Segments = append(p.Segments, manifests.Segment{URI: filepath.Base(s.Name), Duration: t.seconds(i)})
	}
	return p
}

func (t *track) template(pto uint64) *manifests.SegmentTemplate {
	return &manifests.SegmentTemplate{
		Timescale: t.info.Timescale, PresentationTimeOffset: pto,
		Initialization: t.dir + "/" + LadderInit, Media: t.dir + "/seg$Number$.m4s",
		StartNumber: 0, SegmentTimeline: manifests.NewTimeline(t.segments[0].Start, t.durations),
	}
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
	enc, ok := backend.(ChunkEncoder)
	if !ok {
		return nil, fmt.Errorf("the %s backend cannot encode a ladder yet; use the local backend", backend.Properties().Name)
	}
	r.enc = enc
	if r.req.Workers <= 0 {
		r.req.Workers = backend.Properties().Workers
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	defer r.close()
	for _, stage := range []func(context.Context) error{r.probe, r.planChunks, r.encode, r.assemble, r.writeManifests, r.verify, r.commit} {
		if err := stage(ctx); err != nil {
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
	if _, err := os.Stat(req.Input); err != nil {
		return &media.Error{Path: req.Input, Err: unwrapPathError(err)}
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
	src, err := r.p.Runner.Probe(ctx, r.req.Input, opts...)
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

	// The directories above the output directory that are missing are
	// created, and removed again if the run fails.
	for d := filepath.Dir(r.outDir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		r.created = append(r.created, d)
	}
	if err := os.MkdirAll(filepath.Dir(r.outDir), 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	// Beside the output directory, so the ladder moves into place by
	// renaming.
	if r.build, err = os.MkdirTemp(filepath.Dir(r.outDir), "."+filepath.Base(r.outDir)+".chunkcode-"); err != nil {
		return fmt.Errorf("create build directory: %w", err)
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
		g.Go(func() error { return r.encodeAudio(gctx) })
	}
	if len(r.src.StreamsOf(media.Subtitle)) > 0 {
		g.Go(func() error { return r.convertSubtitles(gctx) })
	}
	var mu sync.Mutex
	g.Go(func() error {
		pool, pctx := errgroup.WithContext(gctx)
		pool.SetLimit(r.req.Workers)
		for _, c := range chunks {
			if pctx.Err() != nil {
				break
			}
			pool.Go(func() error {
				res, retries, err := r.encodeChunk(pctx, c)
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
	r.sum.Stages.Encode = time.Since(t).Seconds()
	return nil
}

func (r *ladderRun) encodeChunk(ctx context.Context, c splitter.Chunk) (ChunkResult, int, error) {
	job := r.chunkJob(c)
	var res ChunkResult
	retries, err := retry(ctx, r.req.Retries, Retryable, func(err error) {
		r.p.notify(Event{Kind: EventRetry, Segment: c.Segment, Err: err})
	}, func() error {
		done := 0
		var err error
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
		err = fmt.Errorf("chunk %d (frames %d-%d) failed after %d attempts: %w", c.Index+1, c.First, c.First+c.Frames-1, retries+1, err)
	}
	return res, retries, err
}

// AudioDir is the directory of audio rendition i in a ladder.
func AudioDir(i int) string { return fmt.Sprintf("audio%d", i) }

// encodeAudio encodes every audio track once, over the whole source, and
// cuts each into CMAF segments.
func (r *ladderRun) encodeAudio(ctx context.Context) error {
	r.p.notify(Event{Kind: EventStage, Stage: StageAudio})
	t := time.Now()
	streams := r.src.StreamsOf(media.Audio)
	outputs := make([]string, len(streams))
	for i := range streams {
		outputs[i] = filepath.Join(r.work, fmt.Sprintf("audio%d.mp4", i))
	}
	total := audioDuration(r.src)
	err := r.p.Runner.RunTimed(ctx, LadderAudioArgs(r.src, r.prof, r.req.SegmentLength, outputs), func(s float64) {
		r.p.notify(Event{Kind: EventAudio, Seconds: min(s, total), Total: total})
	})
	if err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	for i, out := range outputs {
		tr, err := cutAudio(out, r.build, AudioDir(i), r.req.SegmentLength)
		if err != nil {
			return fmt.Errorf("audio track %d: %w", i, err)
		}
		r.audio = append(r.audio, tr)
	}
	r.sum.Stages.Audio = time.Since(t).Seconds()
	r.p.notify(Event{Kind: EventAudio, Seconds: total, Total: total})
	return nil
}

// cutAudio cuts the fragmented MP4 at path into root/dir, a segment per
// fragment, except that a last fragment shorter than half of length joins
// the segment before, as the video's last segment does.
func cutAudio(path, root, dir string, length time.Duration) (*track, error) {
	info, err := mp4.ReadInit(path)
	if err != nil {
		return nil, err
	}
	frags, err := mp4.ReadFragments(path, info)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		return nil, err
	}
	tr := &track{dir: dir, info: info}
	// The AAC encoder's priming samples come before the first source
	// sample; for a source starting at 0 that is before 0, which a
	// decode time cannot say. The track then starts at 0, the source's
	// first sample one AAC frame (21 ms at 48 kHz) late.
	var shift int64
	if first := int64(frags[0].Start); first < 0 {
		shift = -first
	}
	init, err := mp4.Cut(path, func(i int, piece []byte) error {
		if i >= len(frags) {
			return fmt.Errorf("%w: more moof boxes than fragments", mp4.ErrInvalid)
		}
		fr := frags[i]
		fr.Start = uint64(int64(fr.Start) + shift)
		if err := mp4.SetDecodeTime(piece, uint32(i+1), fr.Start); err != nil {
			return err
		}
		half := uint64(length.Seconds() * float64(info.Timescale) / 2)
		if n := len(tr.segments); i == len(frags)-1 && n > 0 && fr.Duration < half {
			prev := &tr.segments[n-1]
			f, err := os.OpenFile(filepath.Join(root, prev.Name), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			_, err = f.Write(piece)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			prev.Duration += fr.Duration
			prev.Frames += fr.Samples
			prev.Bytes += int64(len(piece))
			tr.durations[n-1] += fr.Duration
			return err
		}
		name := filepath.Join(dir, SegmentName(i))
		if err := os.WriteFile(filepath.Join(root, name), piece, 0o644); err != nil {
			return err
		}
		tr.segments = append(tr.segments, MediaSegment{Number: i, Name: name, Start: fr.Start, Duration: fr.Duration, Frames: fr.Samples, Bytes: int64(len(piece))})
		tr.durations = append(tr.durations, fr.Duration)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var got, want int
	for _, sg := range tr.segments {
		got += sg.Frames
	}
	for _, fr := range frags {
		want += fr.Samples
	}
	if got != want {
		return nil, fmt.Errorf("%w: %d audio frames in the segments, %d in the fragments", mp4.ErrInvalid, got, want)
	}
	if err := os.WriteFile(filepath.Join(root, dir, LadderInit), init, 0o644); err != nil {
		return nil, err
	}
	return tr, nil
}

// assemble joins every rung's segments from the chunks, in order, and keeps
// one init segment per rung, which every chunk must have written alike.
func (r *ladderRun) assemble(context.Context) error {
	for i, rung := range r.rungs {
		dir := RungDir(rung)
		tr := &track{dir: dir}
		var init []byte
		for _, c := range r.chunks {
			rr := c.Rungs[i]
			b, err := os.ReadFile(filepath.Join(r.build, rr.Init))
			if err != nil {
				return err
			}
			if init == nil {
				init = b
			} else if !bytes.Equal(init, b) {
				return fmt.Errorf("%s: %w: chunk %d's initialization segment differs from chunk 0's", dir, ErrVerify, c.Index)
			}
			if err := os.Remove(filepath.Join(r.build, rr.Init)); err != nil {
				return err
			}
			tr.segments = append(tr.segments, rr.Segments...)
		}
		if err := os.WriteFile(filepath.Join(r.build, dir, LadderInit), init, 0o644); err != nil {
			return err
		}
		info, err := mp4.ReadInit(filepath.Join(r.build, dir, LadderInit))
		if err != nil {
			return err
		}
		tr.info = info
		// A segment lasts until the next one starts, on the source's
		// timeline; the last one as long as its frames.
		for k, s := range tr.segments {
			d := s.Duration
			if k+1 < len(tr.segments) {
				d = tr.segments[k+1].Start - s.Start
			} else {
				stop, err := rescale(r.plan.FrameEnd, r.plan.TimeBase, info.Timescale)
				if err != nil {
					return err
				}
				d = stop - s.Start
			}
			tr.durations = append(tr.durations, d)
		}
		r.video = append(r.video, tr)
	}
	return nil
}

// writeManifests measures every rendition and writes the media playlists,
// the master playlist and the MPD into the build directory.
func (r *ladderRun) writeManifests(context.Context) error {
	var audioRates manifests.Rates
	audioStreams := r.src.StreamsOf(media.Audio)
	var renditions []manifests.Rendition
	for i, a := range r.audio {
		rt, err := a.rates()
		if err != nil {
			return err
		}
		audioRates.Peak, audioRates.Mean = max(audioRates.Peak, rt.Peak), max(audioRates.Mean, rt.Mean)
		renditions = append(renditions, manifests.Rendition{URI: a.dir + "/playlist.m3u8", Language: language(audioStreams[i]), Name: audioName(audioStreams[i], i)})
	}
	rate, _ := media.ParseRational(r.src.Video.FrameRate)
	master := manifests.Master{Audio: renditions}
	for _, st := range r.subs {
		master.Subtitles = append(master.Subtitles, manifests.Rendition{URI: st.dir + "/playlist.m3u8", Language: st.lang, Name: st.name})
	}
	for i, v := range r.video {
		rt, err := v.rates()
		if err != nil {
			return err
		}
		var codecs string
		switch avc, hevc := v.info.AVC, v.info.HEVC; {
		case avc != nil:
			codecs = manifests.AVCCodec(avc.Profile, avc.Constraints, avc.Level)
		case hevc != nil:
			codecs = manifests.HEVCCodec(hevc.ProfileSpace, hevc.HighTier, hevc.Profile, hevc.Compatibility, hevc.Constraints, hevc.Level)
		default:
			return fmt.Errorf("%s: %w: no avcC or hvcC in the initialization segment", v.dir, ErrVerify)
		}
		all := codecs
		if len(r.audio) > 0 {
			all = manifests.Codecs(codecs, manifests.AACLC)
		}
		total := rt.Plus(audioRates)
		master.Variants = append(master.Variants, manifests.Variant{
			URI: v.dir + "/playlist.m3u8", Bandwidth: total.Peak, AverageBandwidth: total.Mean,
			Codecs: all, Width: r.rungs[i].Width, Height: r.rungs[i].Height, FrameRate: math.Round(rate.Float()*1000) / 1000,
		})
		frames := 0
		var size int64
		for _, s := range v.segments {
			frames += s.Frames
			size += s.Bytes
		}
		r.sum.Rungs[i] = (RungSummary{
			Height: r.rungs[i].Height, Width: r.rungs[i].Width, Codecs: all, Bandwidth: total.Peak, AverageBandwidth: total.Mean,
			MaxrateKbps: r.rungs[i].MaxrateKbps, Frames: frames, Segments: len(v.segments), Bytes: size,
			Playlist: filepath.Join(r.outDir, v.dir, "playlist.m3u8"),
		})
	}
	if r.master != "" {
		for _, t := range append(slices.Clone(r.video), r.audio...) {
			text, err := t.playlist().HLS()
			if err == nil {
				err = os.WriteFile(filepath.Join(r.build, t.dir, "playlist.m3u8"), text, 0o644)
			}
			if err != nil {
				return fmt.Errorf("%s playlist: %w", t.dir, err)
			}
		}
		for _, st := range r.subs {
			text, err := st.playlist.HLS()
			if err == nil {
				err = os.WriteFile(filepath.Join(r.build, st.dir, "playlist.m3u8"), text, 0o644)
			}
			if err != nil {
				return fmt.Errorf("%s playlist: %w", st.dir, err)
			}
		}
		text, err := master.HLS()
		if err == nil {
			err = os.WriteFile(filepath.Join(r.build, r.master), text, 0o644)
		}
		if err != nil {
			return fmt.Errorf("master playlist: %w", err)
		}
	}
	if r.mpd != "" {
		if err := r.writeMPD(master); err != nil {
			return err
		}
	}
	return nil
}

// writeMPD writes the DASH MPD: one video AdaptationSet with a
// Representation per rung and one audio AdaptationSet per track, all with
// a SegmentTemplate and SegmentTimeline over the same CMAF segments the
// HLS playlists name. The presentation starts at the first video frame.
func (r *ladderRun) writeMPD(master manifests.Master) error {
	first := r.src.Frames[0].PTS
	vset := manifests.AdaptationSet{ID: 0, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1}
	var longest float64
	for i, v := range r.video {
		rt, err := v.rates()
		if err != nil {
			return err
		}
		pto, err := rescale(first, r.plan.TimeBase, v.info.Timescale)
		if err != nil {
			return err
		}
		for k := range v.durations {
			longest = max(longest, v.seconds(k))
		}
		vset.Representations = append(vset.Representations, manifests.Representation{
			ID: v.dir, Bandwidth: rt.Peak, Codecs: strings.Split(master.Variants[i].Codecs, ",")[0],
			Width: r.rungs[i].Width, Height: r.rungs[i].Height, FrameRate: r.src.Video.FrameRate, Sar: "1:1",
			SegmentTemplate: v.template(pto),
		})
		vset.MaxWidth, vset.MaxHeight = max(vset.MaxWidth, r.rungs[i].Width), max(vset.MaxHeight, r.rungs[i].Height)
	}
	sets := []manifests.AdaptationSet{vset}
	streams := r.src.StreamsOf(media.Audio)
	for i, a := range r.audio {
		rt, err := a.rates()
		if err != nil {
			return err
		}
		start := r.plan.TimeBase.Seconds(first)
		pto := uint64(math.Round(start * float64(a.info.Timescale)))
		role := "main"
		if i > 0 {
			role = "alternate"
		}
		sets = append(sets, manifests.AdaptationSet{
			ID: 1 + i, ContentType: "audio", MimeType: "audio/mp4", Lang: language(streams[i]), SegmentAlignment: true, StartWithSAP: 1,
			Roles: []manifests.Descriptor{{SchemeIDURI: manifests.RoleScheme, Value: role}},
			Representations: []manifests.Representation{{
				ID: a.dir, Bandwidth: rt.Peak, Codecs: manifests.AACLC, AudioSamplingRate: int(a.info.Timescale),
				AudioChannelConfiguration: &manifests.Descriptor{SchemeIDURI: manifests.ChannelConfigurationScheme, Value: fmt.Sprint(max(streams[i].Channels, 1))},
				SegmentTemplate:           a.template(pto),
			}},
		})
	}
	for i, st := range r.subs {
		sets = append(sets, manifests.AdaptationSet{
			ID: 1 + len(r.audio) + i, ContentType: "text", MimeType: "text/vtt", Lang: st.lang,
			Roles:           []manifests.Descriptor{{SchemeIDURI: manifests.RoleScheme, Value: "subtitle"}},
			Representations: []manifests.Representation{{ID: st.dir, Bandwidth: max(1, st.bits), BaseURL: st.dir + "/" + subtitlesFile}},
		})
	}
	mpd := manifests.MPD{
		MediaPresentationDuration: manifests.DurationOf(r.src.VideoDuration()),
		MaxSegmentDuration:        manifests.DurationOf(longest),
		MinBufferTime:             manifests.DurationOf(r.req.SegmentLength.Seconds()),
		Periods:                   []manifests.Period{{ID: "0", AdaptationSets: sets}},
	}
	text, err := mpd.Encode()
	if err == nil {
		err = os.WriteFile(filepath.Join(r.build, r.mpd), text, 0o644)
	}
	if err != nil {
		return fmt.Errorf("MPD: %w", err)
	}
	return nil
}

// audioName is the NAME of an audio rendition: the track's title, else its
// language, else its number.
func audioName(s *media.Stream, i int) string {
	switch {
	case s.Title != "":
		return s.Title
	case language(s) != "":
		return language(s)
	}
	return fmt.Sprintf("Audio %d", i+1)
}

// verify checks the built ladder before it is moved into place: every rung
// has the source's frames, its segments start where the plan put the media
// segments, identically on every rung, and last as long as the source
// within a frame; the playlists and the MPD parse back, name only files
// that exist, and declare no less than the measured bandwidth.
func (r *ladderRun) verify(ctx context.Context) error {
	r.p.notify(Event{Kind: EventStage, Stage: StageVerify})
	t := time.Now()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", r.req.Output, ErrVerify, fmt.Sprintf(format, args...))
	}
	want := r.src.VideoDuration()
	// A frame's length: the longest interval between two frames, for a
	// variable frame rate; the last frame of a chunk has no next one to
	// take its length from.
	frame := 0.0
	for i := 1; i < len(r.src.Frames); i++ {
		frame = max(frame, r.plan.TimeBase.Seconds(r.src.Frames[i].PTS-r.src.Frames[i-1].PTS))
	}
	if rate, err := media.ParseRational(r.src.Video.FrameRate); err == nil && rate.Float() > 0 {
		frame = max(frame, 1/rate.Float())
	}
	for i, v := range r.video {
		frames := 0
		for k, s := range v.segments {
			frames += s.Frames
			at, _ := r.plan.SegmentPTS(r.src.Frames, k)
			start, err := rescale(at, r.plan.TimeBase, v.info.Timescale)
			if err != nil {
				return err
			}
			if s.Number != k || s.Start != start {
				return fail("%s segment %d starts at %d, the plan at %d", v.dir, k, s.Start, start)
			}
			if i > 0 && s.Start*uint64(r.video[0].info.Timescale) != r.video[0].segments[k].Start*uint64(v.info.Timescale) {
				return fail("%s segment %d starts elsewhere than on %s", v.dir, k, r.video[0].dir)
			}
			if d := math.Abs(float64(s.Duration)-float64(v.durations[k])) / float64(v.info.Timescale); d > frame+1e-9 {
				return fail("%s segment %d: frames last %.3fs, the segment %.3fs", v.dir, k, float64(s.Duration)/float64(v.info.Timescale), v.seconds(k))
			}
		}
		if frames != len(r.src.Frames) {
			return fail("%s has %d frames, the source %d", v.dir, frames, len(r.src.Frames))
		}
		if len(v.segments) != len(r.plan.Starts) {
			return fail("%s has %d segments, planned %d", v.dir, len(v.segments), len(r.plan.Starts))
		}
	}
	if r.master != "" {
		text, err := os.ReadFile(filepath.Join(r.build, r.master))
		if err != nil {
			return err
		}
		m, err := manifests.ParseMaster(text)
		if err != nil {
			return fail("%v", err)
		}
		for i, v := range m.Variants {
			rt, _ := r.video[i].rates()
			if rt.Peak > v.Bandwidth {
				return fail("%s: measured %d bit/s above BANDWIDTH %d", v.URI, rt.Peak, v.Bandwidth)
			}
		}
		var uris []string
		for _, v := range m.Variants {
			uris = append(uris, v.URI)
		}
		for _, a := range append(m.Audio, m.Subtitles...) {
			uris = append(uris, a.URI)
		}
		for _, u := range uris {
			text, err := os.ReadFile(filepath.Join(r.build, u))
			if err != nil {
				return fail("%v", err)
			}
			p, err := manifests.ParsePlaylist(text)
			if err != nil {
				return fail("%s: %v", u, err)
			}
			if i := slices.IndexFunc(r.audio, func(a *track) bool { return a.dir+"/playlist.m3u8" == u }); i >= 0 {
				// The track as long as the source's, give or take the
				// encoder's priming and its last frame's padding.
				a := r.src.StreamsOf(media.Audio)[i]
				slack := AudioTolerance + 2*1024/float64(max(a.SampleRate, 8000))
				if d := math.Abs(p.Duration() - a.Duration()); d > slack {
					return fail("%s lasts %.3fs, the source's audio %.3fs", u, p.Duration(), a.Duration())
				}
			} else if d := math.Abs(p.Duration() - want); d > frame+1e-3 {
				return fail("%s: segments add up to %.3fs, the source %.3fs", u, p.Duration(), want)
			}
			dir := filepath.Dir(u)
			for _, name := range uriList(p) {
				if _, err := os.Stat(filepath.Join(r.build, dir, name)); err != nil {
					return fail("%s names %s, which is missing", u, name)
				}
			}
		}
	}
	if r.mpd != "" {
		text, err := os.ReadFile(filepath.Join(r.build, r.mpd))
		if err != nil {
			return err
		}
		if _, err := manifests.ParseMPD(text); err != nil {
			return fail("%v", err)
		}
	}
	r.sum.Stages.Verify = time.Since(t).Seconds()
	return ctx.Err()
}

// uriList lists the files p names: its init segment, if any, and its
// media segments.
func uriList(p manifests.Playlist) []string {
	var out []string
	if p.Init != "" {
		out = append(out, p.Init)
	}
	for _, s := range p.Segments {
		out = append(out, s.URI)
	}
	return out
}

// commit moves the verified ladder into the output directory: the whole
// build directory when the output directory does not exist, else every
// entry of the ladder, replacing an entry of the same name, with the
// manifests last so that no manifest names a segment not yet in place.
func (r *ladderRun) commit(context.Context) error {
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

// subtitlesFile is the whole WebVTT file of a subtitle rendition, which
// the MPD names; HLS names its segments.
const subtitlesFile = "subtitles.vtt"

// subtitles is one text subtitle rendition of a ladder.
type subtitles struct {
	dir, lang, name string
	playlist        manifests.Playlist
	bits            int // the whole file's mean rate, in bit/s
}

// SubtitlesDir is the directory of subtitle rendition i in a ladder.
func SubtitlesDir(i int) string { return fmt.Sprintf("subtitles%d", i) }

// convertSubtitles converts every text subtitle track to WebVTT and cuts
// it into the ladder's media segments; picture subtitles, which WebVTT
// cannot hold, are left out with a warning.
func (r *ladderRun) convertSubtitles(ctx context.Context) error {
	var streams []*media.Stream
	args := []string{"-threads", "1", "-i", r.src.Path}
	var outputs []string
	vtt := media.Container{Format: "webvtt", TextSubtitle: "webvtt"}
	for _, st := range r.src.StreamsOf(media.Subtitle) {
		if _, err := vtt.SubtitleCodec(st.Codec); err != nil {
			r.warn(fmt.Errorf("subtitle stream %d left out of the ladder: %w", st.Index, err))
			continue
		}
		out := filepath.Join(r.work, fmt.Sprintf("subtitles%d.vtt", len(streams)))
		args = append(args, "-map", fmt.Sprintf("0:%d", st.Index), "-c:s", "webvtt", "-f", "webvtt", "-y", out)
		streams = append(streams, st)
		outputs = append(outputs, out)
	}
	if len(streams) == 0 {
		return nil
	}
	if err := r.p.Runner.Run(ctx, args, nil); err != nil {
		return fmt.Errorf("convert subtitles: %w", err)
	}
	// ffmpeg counts the cues' times from the container's start; the
	// ladder's presentation starts at the first video frame.
	first := r.plan.TimeBase.Seconds(r.src.Frames[0].PTS)
	shift := r.src.Start - first
	var durations []float64
	for k := range r.plan.Starts {
		a, b := r.plan.SegmentPTS(r.src.Frames, k)
		durations = append(durations, r.plan.TimeBase.Seconds(b-a))
	}
	mpegts := int64(math.Round(first * 90000))
	for i, out := range outputs {
		text, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		cues, err := manifests.ParseVTT(text)
		if err != nil {
			return fmt.Errorf("subtitle stream %d: %w", streams[i].Index, err)
		}
		var kept []manifests.Cue
		for _, c := range cues {
			c.Start, c.End = max(c.Start+shift, 0), c.End+shift
			if c.End > c.Start {
				kept = append(kept, c)
			}
		}
		st := &subtitles{dir: SubtitlesDir(i), lang: language(streams[i]), name: audioName(streams[i], i)}
		if err := os.MkdirAll(filepath.Join(r.build, st.dir), 0o755); err != nil {
			return err
		}
		whole := manifests.VTT(kept, -1)
		st.bits = int(math.Ceil(8 * float64(len(whole)) / max(r.src.VideoDuration(), 1e-3)))
		if err := os.WriteFile(filepath.Join(r.build, st.dir, subtitlesFile), whole, 0o644); err != nil {
			return err
		}
		for k, seg := range manifests.SplitCues(kept, durations) {
			name := fmt.Sprintf("seg%d.vtt", k)
			if err := os.WriteFile(filepath.Join(r.build, st.dir, name), manifests.VTT(seg, mpegts), 0o644); err != nil {
				return err
			}
			st.playlist.Segments = append(st.playlist.Segments, manifests.Segment{URI: name, Duration: durations[k]})
		}
		r.subs = append(r.subs, st)
	}
	return nil
}

// warn reports err, which does not fail the run, as an event and in the
// summary.
func (r *ladderRun) warn(err error) {
	r.sum.Warnings = append(r.sum.Warnings, err.Error())
	r.p.notify(Event{Kind: EventWarning, Err: err})
}
