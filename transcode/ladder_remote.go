package transcode

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	manifests "github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
	"github.com/chunkcode/chunkcode/transcode/publish"
)

// A ladder encoded elsewhere. A backend whose encodes run on other machines
// (Lambda) is a ChunkBackend: a run starts a session, which stages the
// source as Backend.Start does, and the session encodes the chunks. With
// Request.Publish set, the media segments never come to this machine: the
// session has them staged with the publish, the run writes the playlists
// and manifests from what the encoders report, verifies them, and commits
// the publish.

// ChunkBackend is a Backend whose runs encode ladder chunks in a session.
type ChunkBackend interface {
	Backend
	// StartChunks begins a run that encodes chunks of src, as Start does
	// for segments; jobs are the chunks' Job parts, longest first. With
	// pub not nil, the session's EncodeChunk stages every media segment
	// with pub, under the name it would have had under job.Dir, and the
	// initialization segments of chunk 0 too; it writes only the
	// initialization segments under job.Dir. The caller must close the
	// session, even when StartChunks fails.
	StartChunks(ctx context.Context, src *media.Media, jobs []Job, pub *publish.Ladder) (ChunkSession, error)
}

// ChunkSession is one ladder run on a ChunkBackend.
type ChunkSession interface {
	ChunkEncoder
	// Close frees what the session holds, unless keep.
	Close(ctx context.Context, keep bool) error
}

// startChunks starts the backend's session, for a backend that encodes
// chunks in one.
func (r *ladderRun) startChunks(ctx context.Context) error {
	if r.enc != nil {
		return nil
	}
	var jobs []Job
	chunks := slices.Clone(r.plan.Chunks)
	slices.SortStableFunc(chunks, func(a, b splitter.Chunk) int { return b.Frames - a.Frames })
	for _, c := range chunks {
		jobs = append(jobs, r.chunkJob(c).Job)
	}
	s, err := r.chunkBackend.StartChunks(ctx, r.src, jobs, r.req.Publish)
	if s != nil {
		r.session = s
	}
	if err != nil {
		return err
	}
	r.enc = s
	return nil
}

// ref is how the top-level manifests name the file name of the ladder:
// under the publish's generation directory, or as it is.
func (r *ladderRun) ref(name string) string {
	if r.req.Publish != nil {
		return r.req.Publish.Dir() + name
	}
	return name
}

// local is the file in the build directory that a top-level manifest's
// reference uri names.
func (r *ladderRun) local(uri string) string {
	if r.req.Publish != nil {
		uri = strings.TrimPrefix(uri, r.req.Publish.Dir())
	}
	return filepath.Join(r.build, uri)
}

// exists reports whether the file name, relative to the build directory,
// is part of the ladder: in the build directory, or staged by an encoder.
func (r *ladderRun) exists(name string) bool {
	if _, err := os.Stat(filepath.Join(r.build, name)); err == nil {
		return true
	}
	return r.staged[filepath.ToSlash(name)] > 0
}

// stageMedia stages the audio and subtitle renditions made here with the
// publish, and notes what the encoders staged: every video segment, as
// they reported it, and the initialization segments of chunk 0, which
// must be the ones assemble kept.
func (r *ladderRun) stageMedia(ctx context.Context) error {
	if r.req.Publish == nil {
		return nil
	}
	for _, v := range r.video {
		for _, s := range v.segments {
			r.staged[filepath.ToSlash(s.Name)] = s.Bytes
		}
		name := filepath.Join(v.dir, LadderInit)
		fi, err := os.Stat(filepath.Join(r.build, name))
		if err != nil {
			return err
		}
		r.staged[filepath.ToSlash(name)] = fi.Size()
	}
	for _, a := range r.audio {
		for _, name := range append([]string{filepath.Join(a.dir, LadderInit)}, segmentNames(a)...) {
			if _, done := r.staged[filepath.ToSlash(name)]; done {
				continue // staged by the function that encoded it
			}
			if err := r.stage(ctx, name); err != nil {
				return err
			}
		}
	}
	for _, st := range r.subs {
		// The segments the HLS playlist names and the whole file the MPD
		// names.
		names := []string{subtitlesFile}
		for _, s := range st.playlist.Segments {
			names = append(names, s.URI)
		}
		for _, name := range names {
			if err := r.stage(ctx, filepath.Join(st.dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func segmentNames(t *track) []string {
	var names []string
	for _, s := range t.segments {
		names = append(names, s.Name)
	}
	return names
}

// stage uploads the file name of the build directory to the publish's
// staging and removes it here.
func (r *ladderRun) stage(ctx context.Context, name string) error {
	path := filepath.Join(r.build, name)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := r.req.Publish.Stage(ctx, filepath.ToSlash(name), f); err != nil {
		return err
	}
	r.staged[filepath.ToSlash(name)] = fi.Size()
	return os.Remove(path)
}

// publish commits the verified ladder to Request.Publish: the media the
// encoders staged and the audio staged here, then the media playlists,
// then the top-level manifests.
func (r *ladderRun) publish(ctx context.Context) error {
	pub := r.req.Publish
	var c publish.Contents
	for _, name := range slices.Sorted(maps.Keys(r.staged)) {
		c.Media = append(c.Media, publish.Media{Name: name, Size: r.staged[name]})
	}
	entries, err := os.ReadDir(r.build)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			b, err := os.ReadFile(filepath.Join(r.build, e.Name(), "playlist.m3u8"))
			if err == nil {
				c.Playlists = append(c.Playlists, publish.File{Name: e.Name() + "/playlist.m3u8", Data: b})
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.build, e.Name()))
		if err != nil {
			return err
		}
		// The output's own manifest last.
		f := publish.File{Name: e.Name(), Data: b}
		if e.Name() == pub.Target().Master {
			c.Manifests = append(c.Manifests, f)
		} else {
			c.Manifests = append([]publish.File{f}, c.Manifests...)
		}
	}
	rep, err := pub.Commit(ctx, c)
	if err != nil {
		return err
	}
	for _, m := range c.Media {
		r.sum.OutputBytes += m.Size
	}
	r.sum.Published = &rep
	return nil
}

// chunkBackendOf returns b as a ChunkBackend, or an error saying it
// cannot encode a ladder.
func chunkBackendOf(b Backend) (ChunkBackend, error) {
	if cb, ok := b.(ChunkBackend); ok {
		return cb, nil
	}
	return nil, fmt.Errorf("the %s backend cannot encode a ladder yet; use the local backend", b.Properties().Name)
}

// checkPublish names what a published ladder will write, before any work.
func (r *ladderRun) checkPublish() error {
	if r.req.NoClobber {
		return fmt.Errorf("%s: --no-clobber works with a local OUTPUT only", r.req.Output)
	}
	r.sum = &Summary{Input: r.req.Input, Output: r.req.Output, Backend: r.chunkBackend.Properties().Name, Codec: r.prof.Codec, Workers: r.req.Workers}
	t := r.req.Publish.Target()
	for _, m := range []string{r.master, r.mpd} {
		if m != "" {
			r.sum.Manifests = append(r.sum.Manifests, "s3://"+t.Bucket+"/"+t.Prefix+m)
		}
	}
	return nil
}

// playlistPath is where the media playlist of the rendition in dir ends
// up: in the output directory, or under the publish's generation.
func (r *ladderRun) playlistPath(dir string) string {
	if pub := r.req.Publish; pub != nil {
		t := pub.Target()
		return "s3://" + t.Bucket + "/" + t.Prefix + pub.Dir() + dir + "/playlist.m3u8"
	}
	return filepath.Join(r.outDir, dir, "playlist.m3u8")
}

// template is t's SegmentTemplate, its paths under the publish's
// generation when there is one.
func (r *ladderRun) template(t *track, pto uint64) *manifests.SegmentTemplate {
	tmpl := t.template(pto)
	tmpl.Initialization, tmpl.Media = r.ref(tmpl.Initialization), r.ref(tmpl.Media)
	return tmpl
}

// commitPublish publishes the verified ladder and finishes the summary.
func (r *ladderRun) commitPublish(ctx context.Context) error {
	if err := r.publish(ctx); err != nil {
		return err
	}
	r.sum.WallSeconds = time.Since(r.start).Seconds()
	if r.sum.WallSeconds > 0 {
		r.sum.Speed = r.sum.Duration / r.sum.WallSeconds
	}
	r.p.notify(Event{Kind: EventStage, Stage: StageDone})
	return nil
}

// closeRemote closes the backend's session and aborts an uncommitted
// publish, which deletes what it staged. Their failures are warnings.
func (r *ladderRun) closeRemote(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancel()
	if r.session != nil {
		if err := r.session.Close(cctx, r.req.Keep); err != nil {
			r.p.notify(Event{Kind: EventWarning, Err: err})
		}
	}
	if pub := r.req.Publish; pub != nil {
		if err := pub.Abort(cctx); err != nil && !errors.Is(err, publish.ErrDone) {
			r.p.notify(Event{Kind: EventWarning, Err: err})
		}
	}
}

// EncodeLadderAudio encodes every audio track of src as a ladder's audio
// renditions (LadderAudioArgs), reading src with extraInput's options, and
// cuts track i into dir/AudioDir(i): its LadderInit and media segments. A
// function runs it for a source that lies in S3.
func EncodeLadderAudio(ctx context.Context, r ffmpeg.Runner, src *media.Media, prof Profile, length time.Duration, dir string, extraInput ...string) ([]RungResult, error) {
	streams := src.StreamsOf(media.Audio)
	work, err := os.MkdirTemp(dir, "audio-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	outputs := make([]string, len(streams))
	for i := range streams {
		outputs[i] = filepath.Join(work, fmt.Sprintf("audio%d.mp4", i))
	}
	args := LadderAudioArgs(src, prof, length, outputs)
	// The input's options go before its -i, after -threads 1.
	args = append(slices.Clone(args[:2]), append(extraInput, args[2:]...)...)
	if err := r.Run(ctx, args, nil); err != nil {
		return nil, fmt.Errorf("encode audio: %w", err)
	}
	var res []RungResult
	for i, out := range outputs {
		tr, err := cutAudio(out, dir, AudioDir(i), length)
		if err != nil {
			return nil, fmt.Errorf("audio track %d: %w", i, err)
		}
		res = append(res, RungResult{Init: filepath.Join(tr.dir, LadderInit), Timescale: tr.info.Timescale, Segments: tr.segments})
	}
	return res, nil
}

// AudioEncoder is a ChunkSession that encodes a ladder's audio where the
// source lies, for a source this machine does not read.
type AudioEncoder interface {
	// EncodeAudio encodes every audio track of src as EncodeLadderAudio
	// does. It writes the initialization segments under dir, and the
	// media segments too unless the session stages them with its
	// publish.
	EncodeAudio(ctx context.Context, src *media.Media, prof Profile, length time.Duration, dir string) ([]RungResult, error)
}

// SourceProber probes a source this machine cannot open, such as an s3://
// URL, where it lies, reading none of its media here.
type SourceProber interface {
	// ReadsSource reports whether input is a source ProbeSource probes.
	ReadsSource(input string) bool
	ProbeSource(ctx context.Context, input string) (*media.Media, error)
}

// remoteSource reports whether the run's source is one the backend
// probes, and so reads, where it lies.
func (r *ladderRun) remoteSource() (SourceProber, bool) {
	if r.chunkBackend == nil {
		return nil, false
	}
	sp, ok := r.chunkBackend.(SourceProber)
	return sp, ok && sp.ReadsSource(r.req.Input)
}

// encodeRemoteAudio has the session encode the audio, and makes its tracks
// from what it reports.
func (r *ladderRun) encodeRemoteAudio(ctx context.Context, ae AudioEncoder) error {
	r.p.notify(Event{Kind: EventStage, Stage: StageAudio})
	t := time.Now()
	total := audioDuration(r.src)
	res, err := ae.EncodeAudio(ctx, r.src, r.prof, r.req.SegmentLength, r.build)
	if err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	for i, rr := range res {
		info, err := mp4.ReadInit(filepath.Join(r.build, rr.Init))
		if err != nil {
			return fmt.Errorf("audio track %d: %w", i, err)
		}
		tr := &track{dir: AudioDir(i), info: info, segments: rr.Segments}
		for _, s := range rr.Segments {
			tr.durations = append(tr.durations, s.Duration)
			if r.req.Publish != nil {
				r.staged[filepath.ToSlash(s.Name)] = s.Bytes
			}
		}
		if fi, err := os.Stat(filepath.Join(r.build, rr.Init)); err == nil && r.req.Publish != nil {
			r.staged[filepath.ToSlash(rr.Init)] = fi.Size()
		}
		r.audio = append(r.audio, tr)
	}
	r.sum.Stages.Audio = time.Since(t).Seconds()
	r.p.notify(Event{Kind: EventAudio, Seconds: total, Total: total})
	return nil
}
