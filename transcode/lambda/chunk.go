package lambda

import (
	"context"
	"encoding/json"
	"fmt"
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
	if progress != nil {
		if req.ProgressURL, err = b.store.putURL(ctx, progressKey); err != nil {
			return transcode.ChunkResult{}, fmt.Errorf("presign %s: %w", b.store.objectURL(progressKey), err)
		}
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return transcode.ChunkResult{}, err
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
	resp, rep, err := b.invoke(ctx, payload)
	if stop != nil {
		stop()
	}
	invokeTime := time.Since(t)
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
