package lambda

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// Staging in pieces. Rather than upload the whole source and start every
// encode once it is in S3, each segment's range is cut from the source by a
// stream copy, from the keyframe its decode starts at, and uploaded as an
// object of its own, longest segment first. A segment's invocation starts
// as soon as its piece is in S3, so uploading and encoding overlap. The
// piece keeps the source's time scale and starts at zero at that keyframe;
// the job seeks to its first frame inside it, which decodes the same
// frames as a seek in the whole source.

// Start begins a run under a key prefix of its own and stages a local
// source, unless it already is an s3:// URL. Where it can and the source is
// larger than Options.PiecesAbove, it cuts every job's range into a piece
// of its own and uploads the pieces in the order of jobs, in the
// background, returning once the first is in S3: later pieces upload while
// the first segments encode (see planPieces). Otherwise it uploads the
// source whole and returns when that is done. Jobs whose Source is not src
// fail in Encode. The session it returns, even with an error, must be
// closed.
func (b *Backend) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	b.fetchConfig(ctx)
	s := &session{b: b, run: runPrefix(b.opts.Prefix)}
	path := src.Path
	if _, _, ok := ParseS3URL(path); ok || len(jobs) == 0 {
		return s, nil
	}
	threshold := b.opts.PiecesAbove
	if threshold == 0 {
		threshold = DefaultPiecesAbove
	}
	if src.Size > threshold {
		if pieces := planPieces(src, jobs); pieces != nil {
			s.mu.Lock()
			s.pieces, s.piecesOf = pieces, path
			s.staging = make(chan struct{})
			s.mu.Unlock()
			go func() {
				defer close(s.staging)
				s.stagePieces(ctx, src, jobs, pieces)
			}()
			// The first segment can start once its piece is in; a source
			// that cannot be staged at all fails here, named once.
			select {
			case <-pieces[jobs[0].Index].ready:
				return s, pieces[jobs[0].Index].err
			case <-ctx.Done():
				return s, ctx.Err()
			}
		}
	}
	key := inputObject(s.run, filepath.Ext(path))
	t := time.Now()
	n, err := b.store.upload(ctx, path, key)
	if err != nil {
		return s, fmt.Errorf("stage %s to %s: %w", path, b.store.objectURL(key), err)
	}
	s.mu.Lock()
	s.source, s.sourceKey = path, key
	s.mu.Unlock()
	b.mu.Lock()
	b.stats.UploadSeconds += time.Since(t).Seconds()
	b.stats.UploadBytes += n
	b.mu.Unlock()
	return s, nil
}

// pieceMargin is how far past a segment's last frame its piece goes, so
// frames that follow it in decode order (B-frames' references) are there.
const pieceMargin = time.Second

// piece is one segment's staged range. ready is closed once key is in S3 or
// err is set.
type piece struct {
	from, to int64 // microseconds in the source; to is 0 for the end
	seek     int64 // the job's SeekMicros inside the piece
	stream   int   // the source's video stream
	scale    int64 // the piece's video time scale

	ready chan struct{}
	key   string
	err   error
}

// planPieces returns the piece of every job, or nil when the source must be
// staged whole: it is seeked by timestamps (jobs with a preroll), it is
// rotated (a stream copy need not keep the rotation), or a job's first
// frame cannot be found.
func planPieces(src *media.Media, jobs []transcode.Job) map[int]*piece {
	if src.Video == nil || len(src.Frames) == 0 || src.Video.Rotation != 0 {
		return nil
	}
	tb := src.Video.TimeBase
	micros := func(i int) int64 { return splitter.SeekMicros(src, i) }
	pieces := make(map[int]*piece, len(jobs))
	for _, j := range jobs {
		if j.PrerollMicros > 0 || j.TimeScale == 0 {
			return nil
		}
		first := sort.Search(len(src.Frames), func(i int) bool { return micros(i) >= j.SeekMicros })
		if first == len(src.Frames) || micros(first) != j.SeekMicros || first+j.Frames > len(src.Frames) {
			return nil
		}
		key := first
		for key > 0 && !src.Frames[key].Key {
			key--
		}
		if !src.Frames[key].Key {
			return nil
		}
		p := &piece{
			from: micros(key), stream: j.StreamIndex, scale: j.TimeScale,
			seek:  tb.Micros(src.Frames[first].PTS - src.Frames[key].PTS),
			ready: make(chan struct{}),
		}
		if last := first + j.Frames; last < len(src.Frames) {
			p.to = micros(last) + pieceMargin.Microseconds()
		}
		pieces[j.Index] = p
	}
	return pieces
}

// stagePieces cuts and uploads the pieces of jobs, in their order, and
// closes each piece's ready channel when it is done. It returns once all
// are done or ctx is cancelled.
func (s *session) stagePieces(ctx context.Context, src *media.Media, jobs []transcode.Job, pieces map[int]*piece) {
	dir, err := os.MkdirTemp("", "chunkcode-pieces-")
	for _, j := range jobs {
		p := pieces[j.Index]
		if err == nil {
			p.err = s.stagePiece(ctx, src, j.Index, p, dir)
		} else {
			p.err = fmt.Errorf("stage %s: %w", src.Path, err)
		}
		close(p.ready)
	}
	os.RemoveAll(dir)
}

// stagePiece cuts p from the source into dir and uploads it.
func (s *session) stagePiece(ctx context.Context, src *media.Media, index int, p *piece, dir string) error {
	b := s.b
	path := filepath.Join(dir, fmt.Sprintf("piece-%05d%s", index, transcode.SegmentExt))
	defer os.Remove(path)
	args := []string{"-ss", transcode.FormatMicros(p.from)}
	if p.to > 0 {
		args = append(args, "-to", transcode.FormatMicros(p.to))
	}
	args = append(args, "-i", src.Path, "-map", "0:"+strconv.Itoa(p.stream), "-c", "copy",
		"-map_metadata", "-1", "-map_chapters", "-1",
		"-video_track_timescale", strconv.FormatInt(p.scale, 10), "-f", "mp4", "-y", path)
	if err := b.opts.Runner.Run(ctx, args, nil); err != nil {
		return fmt.Errorf("stage %s: cut the piece of segment %d: %w", src.Path, index+1, err)
	}
	key := pieceObject(s.run, index)
	t := time.Now()
	n, err := b.store.upload(ctx, path, key)
	if err != nil {
		return fmt.Errorf("stage %s to %s: %w", src.Path, b.store.objectURL(key), err)
	}
	b.mu.Lock()
	b.stats.UploadSeconds += time.Since(t).Seconds()
	b.stats.UploadBytes += n
	b.stats.Pieces++
	b.mu.Unlock()
	s.mu.Lock()
	s.lastStaged = time.Now()
	s.mu.Unlock()
	p.key = key
	return nil
}

// pieceJob waits for job's piece, if it has one, and returns the job as the
// function must see it: reading the piece.
func (s *session) pieceJob(ctx context.Context, job transcode.Job) (transcode.Job, string, bool, error) {
	s.mu.Lock()
	p := s.pieces[job.Index]
	piecesOf := s.piecesOf
	s.mu.Unlock()
	if p == nil || job.Source != piecesOf {
		return job, "", false, nil
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return job, "", true, ctx.Err()
	}
	if p.err != nil {
		return job, "", true, p.err
	}
	u, err := s.b.store.getURL(ctx, "", p.key)
	if err != nil {
		return job, "", true, fmt.Errorf("presign %s: %w", s.b.store.objectURL(p.key), err)
	}
	job.SeekMicros, job.StreamIndex = p.seek, 0
	return job, u, true, nil
}
