package transcode

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
	ffargs "github.com/u2takey/ffmpeg-go"
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

// segmentArgs builds the ffmpeg arguments for one segment encode.
func segmentArgs(job Job, extraInput []string) []string {
	p := job.Profile
	threads := p.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	in := ffargs.KwArgs{
		"ss":      FormatMicros(job.SeekMicros),
		"threads": strconv.Itoa(threads),
	}
	if !job.RotatePixels {
		in["noautorotate"] = ""
	}
	var vf []string
	if job.PrerollMicros > 0 {
		// Decode from earlier and cut at the first frame's own timestamp,
		// which -copyts leaves as the source has it.
		in["ss"] = FormatMicros(job.SeekMicros - job.PrerollMicros)
		in["copyts"] = ""
		vf = append(vf, fmt.Sprintf("trim=start_pts=%d", job.StartPTS), "setpts=PTS-STARTPTS")
	}
	out := ffargs.KwArgs{
		"map":      fmt.Sprintf("0:%d", job.StreamIndex),
		"frames:v": strconv.Itoa(job.Frames),
		"fps_mode": "passthrough",
		// The encoder keeps the source's time base; its default, one
		// tick per frame of the nominal rate, would round variable frame
		// rate timestamps to a constant rate.
		"enc_time_base:v": "-1",
		"an":              "",
		"sn":              "",
		"dn":              "",
		"map_metadata":    "-1",
		"map_chapters":    "-1",
		"f":               "mp4",
		"y":               "",
	}
	maps.Copy(out, encoderOptions(p, threads))
	if bsf := rateFilter(p.Codec, job.FrameRate); bsf != "" {
		out["bsf:v"] = bsf
	}
	if job.TimeScale > 0 {
		out["video_track_timescale"] = strconv.FormatInt(job.TimeScale, 10)
	}
	if f := scaleFilter(p.Height, job.Rotation, job.RotatePixels); f != "" {
		vf = append(vf, f)
	}
	if len(vf) > 0 {
		out["vf"] = strings.Join(vf, ",")
	}
	stream := ffargs.Input(job.Source, in).Output(job.Output, out)
	args := stream.GetArgs()
	if len(extraInput) > 0 {
		// Input options go before the -i that opens the source.
		for i, a := range args {
			if a == "-i" {
				args = append(append(append([]string{}, args[:i]...), extraInput...), args[i:]...)
				break
			}
		}
	}
	return args
}

// encoderOptions returns the output options that choose p's video encoder
// and its settings. threads > 0 limits the encoder to that many threads; 0
// leaves the count to the encoder, as a plain ffmpeg run does.
func encoderOptions(p Profile, threads int) ffargs.KwArgs {
	out := ffargs.KwArgs{
		"c:v": p.Codec.Encoder(),
		"crf": strconv.Itoa(p.Quality()),
	}
	if threads > 0 {
		out["threads"] = strconv.Itoa(threads)
	}
	switch p.Codec {
	case media.H264:
		// stitchable keeps headers identical across separately encoded
		// segments, so they join with a stream copy.
		out["x264-params"] = "stitchable=1"
		if p.Preset != "" {
			out["preset"] = p.Preset
		}
	case media.H265:
		out["x265-params"] = "log-level=error"
		if threads > 0 {
			out["x265-params"] = fmt.Sprintf("log-level=error:pools=%d:frame-threads=%d", threads, min(threads, 16))
		}
		out["tag:v"] = "hvc1"
		if p.Preset != "" {
			out["preset"] = p.Preset
		}
	case media.VP9:
		out["b:v"] = "0" // constant quality
		out["row-mt"] = "1"
		if p.Preset != "" {
			out["cpu-used"] = p.Preset
		}
	case media.AV1:
		if threads > 0 {
			out["svtav1-params"] = fmt.Sprintf("lp=%d", threads)
		}
		if p.Preset != "" {
			out["preset"] = p.Preset
		}
	}
	return out
}

// rateFilter returns the bitstream filter that declares rate, a frame rate
// as Job.FrameRate holds it, in the stream headers of codec, or "" when none
// is needed or rate is unknown. x264 declares the encoder's time base as the
// stream's frame rate; the source's time base, which keeps its exact
// timestamps, makes that thousands of frames a second, which ffmpeg reads as
// no rate at all. Its MP4 and MOV demuxer takes the duration of reordered
// frames (B-frames) from that rate, so every packet would have none and the
// video would seem a frame short.
func rateFilter(codec media.Codec, rate string) string {
	if codec != media.H264 || !validRate(rate) {
		return ""
	}
	r, _ := media.ParseRational(rate)
	// The tick is half a frame: H.264 counts fields.
	return fmt.Sprintf("h264_metadata=tick_rate=%d/%d", 2*r.Num, r.Den)
}

// validRate reports whether rate is a frame rate "num/den" between one
// frame an hour and a million a second.
func validRate(rate string) bool {
	r, err := media.ParseRational(rate)
	return err == nil && r.Num > 0 && r.Den > 0 && r.Den <= math.MaxUint32 &&
		r.Num <= 1_000_000*r.Den && r.Den <= 3600*r.Num
}

// scaleFilter returns the video filter that scales to a displayed height,
// keeping the aspect ratio and even dimensions. When a 90-degree rotation is
// carried as metadata, the displayed height is the coded width.
func scaleFilter(height, rotation int, rotatePixels bool) string {
	if height <= 0 {
		return ""
	}
	if !rotatePixels && (rotation == 90 || rotation == -90) {
		return fmt.Sprintf("scale=%d:-2", height)
	}
	return fmt.Sprintf("scale=-2:%d", height)
}

// FormatMicros formats a microsecond count as seconds for ffmpeg.
func FormatMicros(us int64) string {
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}
