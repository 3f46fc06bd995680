package lambda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"golang.org/x/sync/errgroup"
)

// A ladder on Lambda. Each chunk is one invocation that decodes it once and
// encodes every rung (RungsPerChunk), or one invocation per rung
// (RungsSplit), each decoding the chunk. The functions upload the media
// segments: to the publish's staging when the ladder goes to s3://, where
// they stay, or else under the run's prefix, from where the session
// downloads them into the ladder's build directory.

var (
	_ transcode.ChunkBackend = (*Backend)(nil)
	_ transcode.ChunkSession = (*session)(nil)
)

// StartChunks begins a ladder run as Start begins a run of segments,
// staging a local source; with pub, the functions stage the media segments
// with it.
func (b *Backend) StartChunks(ctx context.Context, src *media.Media, jobs []transcode.Job, pub *publish.Ladder) (transcode.ChunkSession, error) {
	s, err := b.Start(ctx, src, jobs)
	ss := s.(*session)
	ss.pub, ss.rungsDone = pub, map[string]transcode.RungResult{}
	return ss, err
}

// EncodeChunk encodes job on the function, in one invocation or, with
// RungsSplit, one per rung. Without a publish it downloads the media
// segments into job.Dir; with one it leaves them staged. Either way it
// writes the rungs' initialization segments, which the function answers
// with, into job.Dir, and checks what the function reports against job.
func (s *session) EncodeChunk(ctx context.Context, job transcode.ChunkJob, _ string, progress ffmpeg.Progress) (transcode.ChunkResult, error) {
	if err := ctx.Err(); err != nil {
		return transcode.ChunkResult{}, err
	}
	s.mu.Lock()
	if s.ladder == nil {
		for _, r := range job.Rungs {
			s.ladder = append(s.ladder, r.Height)
		}
	}
	s.mu.Unlock()
	if s.b.opts.Rungs != RungsSplit || len(job.Rungs) == 1 {
		return s.encodeRungs(ctx, job, progress)
	}
	res := transcode.ChunkResult{Index: job.Index, Frames: job.Frames, Rungs: make([]transcode.RungResult, len(job.Rungs))}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for i, rung := range job.Rungs {
		g.Go(func() error {
			key := fmt.Sprintf("%d/%dp", job.Index, rung.Height)
			mu.Lock()
			done, ok := s.rungsDone[key]
			mu.Unlock()
			if ok {
				res.Rungs[i] = done
				return nil
			}
			one := job
			one.Rungs = job.Rungs[i : i+1]
			var p ffmpeg.Progress
			if i == 0 {
				p = progress
			}
			r, err := s.encodeRungs(gctx, one, p)
			if err != nil {
				return fmt.Errorf("rung %dp: %w", rung.Height, err)
			}
			mu.Lock()
			defer mu.Unlock()
			// A retry of the chunk encodes only the rungs that failed.
			s.rungsDone[key] = r.Rungs[0]
			res.Rungs[i] = r.Rungs[0]
			res.EncodeSeconds = max(res.EncodeSeconds, r.EncodeSeconds)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return transcode.ChunkResult{}, err
	}
	return res, nil
}

// encodeRungs is one invocation that encodes every rung of job.
func (s *session) encodeRungs(ctx context.Context, job transcode.ChunkJob, progress ffmpeg.Progress) (transcode.ChunkResult, error) {
	b := s.b
	remote, srcURL, inPiece, err := s.pieceJob(ctx, job.Job)
	if err != nil {
		return transcode.ChunkResult{}, err
	}
	if !inPiece {
		if srcURL, err = s.sourceURL(ctx, job.Source); err != nil {
			return transcode.ChunkResult{}, err
		}
	}
	remote.Source = srcURL
	names := make([][]string, len(job.Rungs))
	chunk := &ChunkJob{Rungs: job.Rungs, FirstMedia: job.FirstMedia, KeyFrames: job.KeyFrames, Starts: job.Starts, TimeBase: job.TimeBase}
	attempt := randomHex(4)
	for i, rung := range job.Rungs {
		urls := make([]string, len(job.KeyFrames))
		for k := range job.KeyFrames {
			name := path.Join(transcode.RungDir(rung), transcode.SegmentName(job.FirstMedia+k))
			names[i] = append(names[i], name)
			if urls[k], err = s.chunkPutURL(ctx, attempt, name); err != nil {
				return transcode.ChunkResult{}, err
			}
		}
		chunk.SegmentURLs = append(chunk.SegmentURLs, urls)
		if s.pub != nil && job.Index == 0 {
			// The ladder's initialization segments are chunk 0's.
			u, err := s.chunkPutURL(ctx, attempt, path.Join(transcode.RungDir(rung), transcode.LadderInit))
			if err != nil {
				return transcode.ChunkResult{}, err
			}
			chunk.InitURLs = append(chunk.InitURLs, u)
		}
	}
	req := Request{Version: chunkVersion, Job: remote, Chunk: chunk}
	progressKey := progressObject(fmt.Sprintf("%schunk-%05d-%s%s", s.run, job.Index, attempt, transcode.SegmentExt))
	resp, rep, invokeTime, err := s.invokeWithProgress(ctx, req, progressKey, progress)
	if errors.Is(err, errPresign) {
		return transcode.ChunkResult{}, err
	}
	// Every invocation is billed, a failed one too.
	stats := b.remoteStats(invokeTime, rep, resp, 0)
	inv := RungInvocation{Rung: AllRungs, Stats: *stats}
	if len(job.Rungs) == 1 {
		s.mu.Lock()
		inv.Rung = rungIndex(s.ladder, job.Rungs[0].Height)
		s.mu.Unlock()
	} else if resp.Chunk != nil && len(resp.Chunk.Rungs) == len(job.Rungs) {
		for _, r := range resp.Chunk.Rungs {
			inv.RungSeconds = append(inv.RungSeconds, r.EncodeSeconds)
		}
	}
	b.mu.Lock()
	b.stats.Ladder = append(b.stats.Ladder, inv)
	b.mu.Unlock()
	if err != nil {
		return transcode.ChunkResult{}, err
	}
	res, err := s.chunkResult(ctx, job, names, attempt, resp)
	if err != nil {
		return transcode.ChunkResult{}, err
	}
	return res, nil
}

// chunkPutURL presigns the PUT of the ladder file name for one attempt:
// to the publish's staging, where a retry overwrites it, or under the
// run's prefix, for the session to download.
func (s *session) chunkPutURL(ctx context.Context, attempt, name string) (string, error) {
	if s.pub != nil {
		return s.b.StagingPutURL(ctx, s.pub, name)
	}
	key := s.chunkObject(attempt, name)
	u, err := s.b.store.putURL(ctx, key)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", s.b.store.objectURL(key), err)
	}
	return u, nil
}

// chunkObject is where an attempt uploads the ladder file name when there
// is no publish: each attempt under its own key, since an earlier one that
// timed out may still upload late.
func (s *session) chunkObject(attempt, name string) string {
	return s.run + "ladder-" + attempt + "/" + name
}

// chunkResult checks what the function answered for job against the job,
// writes the initialization segments into job.Dir and, without a publish,
// downloads the media segments there.
func (s *session) chunkResult(ctx context.Context, job transcode.ChunkJob, names [][]string, attempt string, resp Response) (transcode.ChunkResult, error) {
	wrong := func(format string, args ...any) error {
		return fmt.Errorf("chunk %d: function answered %s: %w", job.Index+1, fmt.Sprintf(format, args...), transcode.ErrShortSegment)
	}
	c := resp.Chunk
	switch {
	case c == nil:
		return transcode.ChunkResult{}, wrong("no chunk result")
	case resp.Index != job.Index || resp.Frames != job.Frames:
		return transcode.ChunkResult{}, wrong("for chunk %d with %d frames, want %d", resp.Index+1, resp.Frames, job.Frames)
	case len(c.Rungs) != len(job.Rungs):
		return transcode.ChunkResult{}, wrong("%d rungs, want %d", len(c.Rungs), len(job.Rungs))
	}
	res := transcode.ChunkResult{Index: job.Index, Frames: job.Frames, EncodeSeconds: resp.EncodeSeconds}
	for i, rr := range c.Rungs {
		rung := job.Rungs[i]
		dir := transcode.RungDir(rung)
		if len(rr.Segments) != len(job.KeyFrames) || rr.Timescale == 0 || len(rr.Init) == 0 {
			return transcode.ChunkResult{}, wrong("%s: %d segments, timescale %d, %d bytes of init; want %d segments", dir, len(rr.Segments), rr.Timescale, len(rr.Init), len(job.KeyFrames))
		}
		out := transcode.RungResult{Init: filepath.Join(dir, transcode.InitName(job.Index)), Timescale: rr.Timescale}
		if err := os.MkdirAll(filepath.Join(job.Dir, dir), 0o755); err != nil {
			return transcode.ChunkResult{}, err
		}
		if err := os.WriteFile(filepath.Join(job.Dir, out.Init), rr.Init, 0o644); err != nil {
			return transcode.ChunkResult{}, err
		}
		frames := 0
		for k, sr := range rr.Segments {
			want := job.Frames - job.KeyFrames[k]
			if k+1 < len(job.KeyFrames) {
				want = job.KeyFrames[k+1] - job.KeyFrames[k]
			}
			if sr.Number != job.FirstMedia+k || sr.Frames != want || sr.Bytes <= 0 || sr.Duration == 0 {
				return transcode.ChunkResult{}, wrong("%s segment %d with %d frames in %d bytes, want segment %d with %d frames", dir, sr.Number, sr.Frames, sr.Bytes, job.FirstMedia+k, want)
			}
			frames += sr.Frames
			name := filepath.FromSlash(names[i][k])
			if s.pub == nil {
				n, err := s.b.store.download(ctx, s.chunkObject(attempt, names[i][k]), filepath.Join(job.Dir, name))
				if err != nil {
					return transcode.ChunkResult{}, fmt.Errorf("download %s: %w", s.b.store.objectURL(s.chunkObject(attempt, names[i][k])), err)
				}
				if n != sr.Bytes {
					return transcode.ChunkResult{}, wrong("%s: %d bytes, downloaded %d", name, sr.Bytes, n)
				}
			}
			out.Segments = append(out.Segments, transcode.MediaSegment{Number: sr.Number, Name: name, Start: sr.Start, Duration: sr.Duration, Frames: sr.Frames, Bytes: sr.Bytes})
		}
		if frames != job.Frames {
			return transcode.ChunkResult{}, wrong("%s with %d frames, want %d", dir, frames, job.Frames)
		}
		res.Rungs = append(res.Rungs, out)
	}
	return res, nil
}

func rungIndex(heights []int, height int) int {
	for i, h := range heights {
		if h == height {
			return i
		}
	}
	return AllRungs
}

var (
	_ transcode.SourceProber = (*Backend)(nil)
	_ transcode.AudioEncoder = (*session)(nil)
)

// ProbeSource probes the s3:// input on a function, which uploads only the
// probe: ffprobe's document of the streams and packets, no media.
func (b *Backend) ProbeSource(ctx context.Context, input string) (*media.Media, error) {
	b.fetchConfig(ctx)
	srcURL, err := b.sourceURL(ctx, input)
	if err != nil {
		return nil, err
	}
	run := runPrefix(b.opts.Prefix)
	key := sourceJobObjects(run, "")["probe"]
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), transcode.CleanupTimeout)
		defer cancel()
		b.store.deletePrefix(cctx, run)
	}()
	probeURL, err := b.store.putURL(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("presign %s: %w", b.store.objectURL(key), err)
	}
	resp, _, err := b.invoke(ctx, Request{Version: chunkVersion, Source: &SourceJob{URL: srcURL, ProbeURL: probeURL, ProbeOnly: true}})
	if err != nil {
		var fe *FunctionError
		if errors.As(err, &fe) && fe.Kind == KindMedia {
			return nil, fe.mediaError(input)
		}
		return nil, fmt.Errorf("probe %s: %w", input, err)
	}
	if resp.Source == nil {
		return nil, fmt.Errorf("probe %s: the function did not answer the source job (is it older than this chunkcode?)", input)
	}
	dir, err := os.MkdirTemp("", "chunkcode-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "probe.json.gz")
	if _, err := b.store.download(ctx, key, path); err != nil {
		return nil, fmt.Errorf("download the probe of %s from %s: %w", input, b.store.objectURL(key), err)
	}
	return parseProbe(path, input)
}

// EncodeAudio has a function encode src's audio renditions where src lies
// in S3 (see AudioJob): the segments go to the publish's staging, or are
// downloaded into dir without one; the initialization segments are written
// into dir.
func (s *session) EncodeAudio(ctx context.Context, src *media.Media, prof transcode.Profile, length time.Duration, dir string) ([]transcode.RungResult, error) {
	b := s.b
	srcURL, err := b.sourceURL(ctx, src.Path)
	if err != nil {
		return nil, err
	}
	streams := src.StreamsOf(media.Audio)
	job := &AudioJob{URL: srcURL, Start: src.Start, Bitrate: prof.AudioBitrate, SegmentLength: length}
	// Room for every segment, with the AAC encoder's priming and a
	// fragment cut early.
	n := int(math.Ceil(src.Duration/length.Seconds())) + 2
	attempt := randomHex(4)
	names := make([][]string, len(streams))
	for i, a := range streams {
		job.Streams = append(job.Streams, a.Index)
		var urls []string
		for k := range n {
			name := path.Join(transcode.AudioDir(i), transcode.SegmentName(k))
			u, err := s.chunkPutURL(ctx, attempt, name)
			if err != nil {
				return nil, err
			}
			names[i], urls = append(names[i], name), append(urls, u)
		}
		job.SegmentURLs = append(job.SegmentURLs, urls)
		if s.pub != nil {
			u, err := s.chunkPutURL(ctx, attempt, path.Join(transcode.AudioDir(i), transcode.LadderInit))
			if err != nil {
				return nil, err
			}
			job.InitURLs = append(job.InitURLs, u)
		}
	}
	t := time.Now()
	resp, rep, err := b.invoke(ctx, Request{Version: chunkVersion, Audio: job})
	stats := b.remoteStats(time.Since(t), rep, resp, 0)
	b.mu.Lock()
	b.stats.Audio.Add(*stats)
	b.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("encode the audio of %s: %w", src.Path, err)
	}
	if resp.Chunk == nil || len(resp.Chunk.Rungs) != len(streams) {
		return nil, fmt.Errorf("encode the audio of %s: the function answered for another number of tracks than %d", src.Path, len(streams))
	}
	var res []transcode.RungResult
	for i, tr := range resp.Chunk.Rungs {
		adir := transcode.AudioDir(i)
		if len(tr.Segments) == 0 || len(tr.Segments) > n || tr.Timescale == 0 {
			return nil, fmt.Errorf("audio track %d: the function answered %d segments at timescale %d", i, len(tr.Segments), tr.Timescale)
		}
		out := transcode.RungResult{Init: filepath.Join(adir, transcode.LadderInit), Timescale: tr.Timescale}
		if err := os.MkdirAll(filepath.Join(dir, adir), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, out.Init), tr.Init, 0o644); err != nil {
			return nil, err
		}
		for k, sr := range tr.Segments {
			name := filepath.FromSlash(names[i][k])
			if sr.Number != k || sr.Bytes <= 0 {
				return nil, fmt.Errorf("audio track %d: the function answered segment %d of %d bytes as segment %d", i, sr.Number, sr.Bytes, k)
			}
			if s.pub == nil {
				key := s.chunkObject(attempt, names[i][k])
				n, err := b.store.download(ctx, key, filepath.Join(dir, name))
				if err != nil {
					return nil, fmt.Errorf("download %s: %w", b.store.objectURL(key), err)
				}
				if n != sr.Bytes {
					return nil, fmt.Errorf("audio track %d segment %d: %d bytes, downloaded %d", i, k, sr.Bytes, n)
				}
			}
			out.Segments = append(out.Segments, transcode.MediaSegment{Number: k, Name: name, Start: sr.Start, Duration: sr.Duration, Frames: sr.Frames, Bytes: sr.Bytes})
		}
		res = append(res, out)
	}
	return res, nil
}
