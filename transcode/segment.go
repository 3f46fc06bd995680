package transcode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// Job is one segment to encode: which frames of which source, and how. It is
// what a Backend receives and, as JSON, what a Lambda invocation carries.
type Job struct {
	Index int `json:"index"`
	// Source is the file or URL ffmpeg reads; the segment is read from it by
	// seeking, never copied out first.
	Source string `json:"source"`
	// SeekMicros is where the segment's first frame starts, in microseconds
	// from the start of the source container (ffmpeg's input -ss).
	SeekMicros int64 `json:"seek_us"`
	// PrerollMicros, when positive, starts reading that long before
	// SeekMicros and cuts the segment at StartPTS exactly, for sources
	// ffmpeg cannot seek exactly (see splitter.Segment).
	PrerollMicros int64 `json:"preroll_us,omitempty"`
	// StartPTS is the first frame's timestamp in the video stream's time
	// base; it is used with PrerollMicros.
	StartPTS int64 `json:"start_pts,omitempty"`
	// Frames is exactly how many frames the segment must have.
	Frames int `json:"frames"`
	// StreamIndex is the source's video stream.
	StreamIndex int `json:"stream_index"`
	// TimeScale is the segment's time scale, the source's time base
	// denominator, so timestamps survive the round trip exactly.
	TimeScale int64 `json:"time_scale,omitempty"`
	// FrameRate is the source video's frame rate as ffprobe's r_frame_rate
	// gives it, "30000/1001"; "" for unknown. The encoder, which keeps the
	// source's time base, declares it in the stream headers.
	FrameRate string `json:"frame_rate,omitempty"`
	// Rotation is the source's display rotation in degrees. With
	// RotatePixels the pictures are turned upright; otherwise they stay as
	// coded and the merge copies the rotation.
	Rotation     int     `json:"rotation,omitempty"`
	RotatePixels bool    `json:"rotate_pixels,omitempty"`
	Profile      Profile `json:"profile"`
	// Output is the local path the encoded segment must be written to.
	Output string `json:"-"`
}

// Result is what encoding one segment produced.
type Result struct {
	Index         int     `json:"index"`
	Frames        int     `json:"frames"`
	Bytes         int64   `json:"bytes"`
	EncodeSeconds float64 `json:"encode_seconds"`
	// Remote holds backend-specific timings, such as a Lambda's billed time.
	Remote *RemoteStats `json:"remote,omitempty"`
}

// Validate checks the values a job from outside must respect.
func (j *Job) Validate() error {
	switch {
	case j.Source == "":
		return errors.New("job has no source")
	case j.Frames <= 0 || j.Frames > 10_000_000:
		return fmt.Errorf("job frames %d out of range", j.Frames)
	case j.SeekMicros < 0 || j.SeekMicros > int64(240*time.Hour/time.Microsecond):
		return fmt.Errorf("job seek %dµs out of range", j.SeekMicros)
	case j.PrerollMicros < 0 || j.PrerollMicros > j.SeekMicros:
		return fmt.Errorf("job preroll %dµs out of range", j.PrerollMicros)
	case j.StreamIndex < 0 || j.StreamIndex > 1000:
		return fmt.Errorf("job stream index %d out of range", j.StreamIndex)
	case j.TimeScale < 0 || j.TimeScale > 10_000_000:
		return fmt.Errorf("job time scale %d out of range", j.TimeScale)
	case j.FrameRate != "" && !validRate(j.FrameRate):
		return fmt.Errorf("job frame rate %q out of range", j.FrameRate)
	case j.Rotation%90 != 0 || j.Rotation < -270 || j.Rotation > 270:
		return fmt.Errorf("job rotation %d out of range", j.Rotation)
	}
	// Segments are video only: the audio settings play no part, and the
	// segment container would wrongly hold an opus or vorbis choice against
	// the job. Checking a copy leaves them as they came.
	j.Profile = j.Profile.WithDefaults(media.Container{})
	return j.Profile.CheckVideo()
}

// NewJob returns the job that encodes seg of src with prof into output.
// When src is rotated and container cannot carry a display rotation, the
// job turns the pictures upright (RotatePixels); otherwise the merge copies
// the rotation.
func NewJob(src *media.Media, seg splitter.Segment, prof Profile, container media.Container, output string) Job {
	v := src.Video
	return Job{
		Index: seg.Index, Source: src.Path, SeekMicros: seg.SeekMicros, Frames: seg.Frames,
		PrerollMicros: seg.PrerollMicros, StartPTS: seg.StartPTS,
		StreamIndex: v.Index, TimeScale: timeScale(v.TimeBase), FrameRate: v.FrameRate,
		Rotation: v.Rotation, RotatePixels: rotatesPixels(v, container),
		Profile: prof, Output: output,
	}
}

// rotatesPixels reports whether the pictures of video v are turned upright
// because container cannot carry its display rotation.
func rotatesPixels(v *media.Stream, container media.Container) bool {
	return v.Rotation != 0 && !container.Rotation
}

// timeScale returns the MP4 time scale that holds tb's timestamps exactly,
// or 0 to let ffmpeg choose.
func timeScale(tb media.Rational) int64 {
	if tb.Num == 1 && tb.Den >= 1000 && tb.Den <= 10_000_000 {
		return tb.Den
	}
	return 0
}

// SegmentExt is the file extension of encoded segments.
const SegmentExt = ".mp4" // media.Segment.Ext

// EncodeSegment encodes job with r, writing job.Output, and checks that the
// result has exactly job.Frames frames. It is the one segment step every
// backend runs, locally or inside a Lambda function. extraInput holds ffmpeg
// input options the caller needs, such as a protocol whitelist.
func EncodeSegment(ctx context.Context, r ffmpeg.Runner, job Job, progress ffmpeg.Progress, extraInput ...string) (Result, error) {
	start := time.Now()
	args := segmentArgs(job, extraInput)
	if err := r.WithHugePages().Run(ctx, args, progress); err != nil {
		return Result{}, fmt.Errorf("encode: %w", err)
	}
	// Segments are MP4: their index says how many frames they hold, read
	// here without starting another process.
	n, err := mp4.VideoFrames(job.Output)
	if err != nil {
		return Result{}, fmt.Errorf("check frames: %w", err)
	}
	if n == 0 {
		return Result{}, fmt.Errorf("check frames: %w", ErrSeekPastEnd)
	}
	if n != job.Frames {
		return Result{}, fmt.Errorf("check frames: %w: got %d, planned %d", ErrShortSegment, n, job.Frames)
	}
	fi, err := os.Stat(job.Output)
	if err != nil {
		return Result{}, err
	}
	return Result{Index: job.Index, Frames: n, Bytes: fi.Size(), EncodeSeconds: time.Since(start).Seconds()}, nil
}

// validRate reports whether rate is a frame rate "num/den" between one
// frame an hour and a million a second.
func validRate(rate string) bool {
	r, err := media.ParseRational(rate)
	return err == nil && r.Num > 0 && r.Den > 0 && r.Den <= math.MaxUint32 &&
		r.Num <= 1_000_000*r.Den && r.Den <= 3600*r.Num
}
