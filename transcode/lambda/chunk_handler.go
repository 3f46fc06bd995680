package lambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// MaxChunkRungs is the most rungs one chunk job may encode: the published
// ladders have at most eight.
const MaxChunkRungs = 16

// handleChunk runs a chunk job: transcode.EncodeChunk with the job's
// source read by seeking, as a segment's is, then every rung's media
// segments uploaded to their URLs. The initialization segments and the
// measurements go back in the Response.
func (h *Handler) handleChunk(ctx context.Context, req Request) (Response, error) {
	if err := h.validateChunk(&req); err != nil {
		return Response{}, &FunctionError{Kind: KindInvalid, Message: err.Error()}
	}
	// Every rung is an encode of the chunk's frames.
	limit := req.Job
	limit.Frames *= len(req.Chunk.Rungs)
	for _, r := range req.Chunk.Rungs {
		limit.Profile.Height = max(limit.Profile.Height, r.Height)
	}
	if fe := checkLimits(limit); fe != nil {
		return Response{}, fe
	}
	if err := h.injectFault(); err != nil {
		return Response{}, err
	}
	dir, err := h.jobDir("chunk")
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	defer h.removeJobDir(dir)
	c := req.Chunk
	job := transcode.ChunkJob{
		Job: req.Job, Rungs: c.Rungs, FirstMedia: c.FirstMedia, KeyFrames: c.KeyFrames,
		Starts: c.Starts, TimeBase: c.TimeBase, Dir: filepath.Join(dir, "out"),
	}
	var frames atomic.Int64
	var progress ffmpeg.Progress
	if req.ProgressURL != "" {
		progress = func(n int) { frames.Store(int64(n)) }
		stop := h.reportProgress(ctx, req.ProgressURL, &frames)
		defer stop()
	}
	opts, err := h.inputOptions(job.Source)
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	opts = append(opts, "-max_pixels", strconv.FormatInt(maxPixels(limit.Frames), 10))
	res, err := transcode.EncodeChunk(ctx, h.Runner, job, dir, progress, opts...)
	if err != nil {
		return Response{}, encodeError(ctx, err).redact(job.Source)
	}

	t := time.Now()
	out := &ChunkResult{}
	var total int64
	pixels := 0
	for _, r := range job.Rungs {
		pixels += r.Width * r.Height
	}
	for i, rr := range res.Rungs {
		init, err := os.ReadFile(filepath.Join(job.Dir, rr.Init))
		if err != nil {
			return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
		}
		if c.InitURLs != nil {
			if err := h.put(ctx, c.InitURLs[i], bytes.NewReader(init), int64(len(init))); err != nil {
				return Response{}, &FunctionError{Kind: KindUpload, Message: fmt.Sprintf("upload rung %dp init: %v", job.Rungs[i].Height, err)}
			}
		}
		share := res.EncodeSeconds * float64(job.Rungs[i].Width*job.Rungs[i].Height) / float64(max(pixels, 1))
		wr := RungResult{Init: init, Timescale: rr.Timescale, EncodeSeconds: share}
		for k, s := range rr.Segments {
			what := fmt.Sprintf("rung %dp segment %d", job.Rungs[i].Height, s.Number)
			if err := h.upload(ctx, what, c.SegmentURLs[i][k], filepath.Join(job.Dir, s.Name), s.Bytes); err != nil {
				return Response{}, &FunctionError{Kind: KindUpload, Message: err.Error()}
			}
			total += s.Bytes
			wr.Segments = append(wr.Segments, SegmentResult{Number: s.Number, Start: s.Start, Duration: s.Duration, Frames: s.Frames, Bytes: s.Bytes})
		}
		out.Rungs = append(out.Rungs, wr)
	}
	return Response{
		Version: ProtocolVersion, Index: res.Index, Frames: res.Frames, Bytes: total,
		EncodeSeconds: res.EncodeSeconds, UploadSeconds: time.Since(t).Seconds(),
		FFmpeg: h.ffmpegVersion(ctx), Chunk: out,
	}, nil
}

// validateChunk checks every value of a chunk request that comes from
// outside.
func (h *Handler) validateChunk(req *Request) error {
	c := req.Chunk
	if err := req.Job.Validate(); err != nil {
		return err
	}
	if req.Job.Index < 0 || req.Job.Index > 1_000_000 {
		return fmt.Errorf("job index %d out of range", req.Job.Index)
	}
	if err := h.checkURL("source", req.Job.Source); err != nil {
		return err
	}
	if req.ProgressURL != "" {
		if err := h.checkURL("progress", req.ProgressURL); err != nil {
			return err
		}
	}
	switch {
	case len(c.Rungs) == 0 || len(c.Rungs) > MaxChunkRungs:
		return fmt.Errorf("%d rungs; a chunk has 1 to %d", len(c.Rungs), MaxChunkRungs)
	case len(c.KeyFrames) == 0 || len(c.KeyFrames) != len(c.Starts) || c.KeyFrames[0] != 0:
		return fmt.Errorf("%d key frames and %d starts; want as many of each, the first key frame 0", len(c.KeyFrames), len(c.Starts))
	case c.FirstMedia < 0 || c.FirstMedia > 1_000_000:
		return fmt.Errorf("first media segment %d out of range", c.FirstMedia)
	case c.TimeBase.Num <= 0 || c.TimeBase.Den <= 0:
		return fmt.Errorf("time base %v is not positive", c.TimeBase)
	case len(c.SegmentURLs) != len(c.Rungs):
		return fmt.Errorf("segment URLs for %d rungs, want %d", len(c.SegmentURLs), len(c.Rungs))
	case c.InitURLs != nil && len(c.InitURLs) != len(c.Rungs):
		return fmt.Errorf("init URLs for %d rungs, want %d", len(c.InitURLs), len(c.Rungs))
	}
	for i, k := range c.KeyFrames {
		if k < 0 || k >= req.Job.Frames || i > 0 && k <= c.KeyFrames[i-1] {
			return errors.New("key frames are not increasing within the chunk's frames")
		}
	}
	for i, r := range c.Rungs {
		if r.Height <= 0 || r.Width <= 0 || r.Height%2 != 0 || r.Width%2 != 0 || r.Height > MaxJobHeight || r.Width*r.Height > MaxJobPixels {
			return fmt.Errorf("rung %d is %dx%d; want even sizes up to %d lines", i, r.Width, r.Height, MaxJobHeight)
		}
		if r.MaxrateKbps <= 0 || r.BufsizeKbps <= 0 {
			return fmt.Errorf("rung %d has no maxrate or bufsize", i)
		}
		if c.InitURLs != nil {
			if err := h.checkURL("init", c.InitURLs[i]); err != nil {
				return err
			}
		}
		if len(c.SegmentURLs[i]) != len(c.KeyFrames) {
			return fmt.Errorf("rung %d: %d segment URLs for %d media segments", i, len(c.SegmentURLs[i]), len(c.KeyFrames))
		}
		for _, u := range c.SegmentURLs[i] {
			if err := h.checkURL("segment", u); err != nil {
				return err
			}
		}
	}
	return nil
}
