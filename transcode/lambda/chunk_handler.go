package lambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
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
	progress, opts, stop, err := h.startEncode(ctx, req.ProgressURL, job.Source, limit.Frames)
	if err != nil {
		return Response{}, err
	}
	defer stop()
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
	if err := h.validateJob(req); err != nil {
		return err
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

// MaxAudioTracks is the most audio tracks one audio job may encode.
const MaxAudioTracks = 32

// handleAudio runs an audio job: transcode.EncodeLadderAudio on the source,
// then every track's segments uploaded to their URLs.
func (h *Handler) handleAudio(ctx context.Context, job AudioJob) (Response, error) {
	if err := h.validateAudio(&job); err != nil {
		return Response{}, &FunctionError{Kind: KindInvalid, Message: err.Error()}
	}
	if err := h.injectFault(); err != nil {
		return Response{}, err
	}
	dir, err := h.jobDir("audio")
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	defer h.removeJobDir(dir)
	opts, err := h.inputOptions(job.URL)
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	src := &media.Media{Path: job.URL, Start: job.Start}
	for _, i := range job.Streams {
		src.Streams = append(src.Streams, media.Stream{Index: i, Type: media.Audio})
	}
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	t := time.Now()
	tracks, err := transcode.EncodeLadderAudio(ctx, h.Runner, src, transcode.Profile{AudioBitrate: job.Bitrate}, job.SegmentLength, out, opts...)
	if err != nil {
		return Response{}, encodeError(ctx, err).redact(job.URL)
	}
	encode := time.Since(t)
	t = time.Now()
	res := &ChunkResult{}
	var total int64
	for i, tr := range tracks {
		if len(tr.Segments) > len(job.SegmentURLs[i]) {
			return Response{}, &FunctionError{Kind: KindLimit, Message: fmt.Sprintf("audio track %d has %d segments, more than the %d URLs given", i, len(tr.Segments), len(job.SegmentURLs[i]))}
		}
		init, err := os.ReadFile(filepath.Join(out, tr.Init))
		if err != nil {
			return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
		}
		if job.InitURLs != nil {
			if err := h.put(ctx, job.InitURLs[i], bytes.NewReader(init), int64(len(init))); err != nil {
				return Response{}, &FunctionError{Kind: KindUpload, Message: fmt.Sprintf("upload audio track %d init: %v", i, err)}
			}
		}
		rr := RungResult{Init: init, Timescale: tr.Timescale}
		for k, s := range tr.Segments {
			if err := h.upload(ctx, fmt.Sprintf("audio track %d segment %d", i, k), job.SegmentURLs[i][k], filepath.Join(out, s.Name), s.Bytes); err != nil {
				return Response{}, &FunctionError{Kind: KindUpload, Message: err.Error()}
			}
			total += s.Bytes
			rr.Segments = append(rr.Segments, SegmentResult{Number: s.Number, Start: s.Start, Duration: s.Duration, Frames: s.Frames, Bytes: s.Bytes})
		}
		res.Rungs = append(res.Rungs, rr)
	}
	return Response{
		Version: ProtocolVersion, Bytes: total, EncodeSeconds: encode.Seconds(), UploadSeconds: time.Since(t).Seconds(),
		FFmpeg: h.ffmpegVersion(ctx), Chunk: res,
	}, nil
}

// validateAudio checks every value of an audio job that comes from
// outside.
func (h *Handler) validateAudio(job *AudioJob) error {
	if err := h.checkURL("source", job.URL); err != nil {
		return err
	}
	if err := (transcode.Profile{AudioCodec: media.AAC, AudioBitrate: job.Bitrate}).CheckAudio(); err != nil {
		return err
	}
	switch {
	case job.Bitrate == "":
		return errors.New("no audio bitrate")
	case len(job.Streams) == 0 || len(job.Streams) > MaxAudioTracks:
		return fmt.Errorf("%d audio streams; a job has 1 to %d", len(job.Streams), MaxAudioTracks)
	case len(job.SegmentURLs) != len(job.Streams):
		return fmt.Errorf("segment URLs for %d tracks, want %d", len(job.SegmentURLs), len(job.Streams))
	case job.InitURLs != nil && len(job.InitURLs) != len(job.Streams):
		return fmt.Errorf("init URLs for %d tracks, want %d", len(job.InitURLs), len(job.Streams))
	case job.SegmentLength < 100*time.Millisecond || job.SegmentLength > time.Hour:
		return fmt.Errorf("segment length %v out of range", job.SegmentLength)
	case job.Start < 0 || job.Start > 240*3600:
		return fmt.Errorf("start %v out of range", job.Start)
	}
	for _, i := range job.Streams {
		if i < 0 || i > 1000 {
			return fmt.Errorf("stream index %d out of range", i)
		}
	}
	for i, urls := range job.SegmentURLs {
		if len(urls) > 100_000 {
			return fmt.Errorf("track %d: %d segment URLs", i, len(urls))
		}
		for _, u := range append(slices.Clone(urls), job.InitURLs...) {
			if err := h.checkURL("segment", u); err != nil {
				return err
			}
		}
	}
	return nil
}
