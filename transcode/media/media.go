// Package media is chunkcode's data model of a media file and of the
// formats it writes: what ffprobe found (Media, Stream, Frame), exact time
// (Rational), and the output containers and codecs (Container, Codec,
// AudioCodec). It starts no process and reads no file: the ffmpeg package
// fills a Media, and the planner, the merger and the pipeline read it.
package media

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Errors about an input file, wrapped in a *MediaError that names it.
var (
	// ErrNotMedia means ffprobe could not read the file as media.
	ErrNotMedia = errors.New("not a media file")
	// ErrTruncated means the file ends before its own index or headers say it should.
	ErrTruncated = errors.New("truncated or damaged")
	// ErrNoVideo means the file has no video stream to transcode.
	ErrNoVideo = errors.New("no video stream")
	// ErrPlaylist means the file is a playlist or list of other files
	// (HLS, DASH, ffconcat), which ffmpeg would follow to read them.
	ErrPlaylist = errors.New("is a playlist, which reads other files")
)

// Error reports a problem with one input file.
type Error struct {
	Path   string
	Err    error  // one of the sentinel errors above, or an *os.PathError's cause
	Detail string // what ffprobe said, if anything
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %v (%s)", e.Path, e.Err, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// Rational is an exact fraction such as a time base.
type Rational struct{ Num, Den int64 }

// ParseRational parses "num/den".
func ParseRational(s string) (Rational, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Rational{}, fmt.Errorf("parse rational %q: no slash", s)
	}
	n, err1 := strconv.ParseInt(a, 10, 64)
	d, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return Rational{}, fmt.Errorf("parse rational %q: not integers", s)
	}
	return Rational{n, d}, nil
}

func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Float returns r as a float, 0 when the denominator is 0.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Seconds converts ts ticks of time base r to seconds.
func (r Rational) Seconds(ts int64) float64 { return float64(ts) * r.Float() }

// Micros converts ts ticks of time base r to microseconds, rounding down.
func (r Rational) Micros(ts int64) int64 {
	if r.Den == 0 {
		return 0
	}
	v := ts * r.Num * 1_000_000
	q := v / r.Den
	if v%r.Den != 0 && v < 0 {
		q-- // round towards minus infinity
	}
	return q
}

// StreamType is the kind of a stream, as ffprobe's codec_type names it.
type StreamType string

// The stream types.
const (
	Video      StreamType = "video"
	Audio      StreamType = "audio"
	Subtitle   StreamType = "subtitle"
	Data       StreamType = "data"
	Attachment StreamType = "attachment"
)

// Stream is one stream of a media file.
type Stream struct {
	Index      int               `json:"index"`
	Type       StreamType        `json:"type"`
	Codec      string            `json:"codec"`
	Width      int               `json:"width,omitempty"`
	Height     int               `json:"height,omitempty"`
	PixFmt     string            `json:"pix_fmt,omitempty"`
	FrameRate  string            `json:"frame_rate,omitempty"` // r_frame_rate
	TimeBase   Rational          `json:"-"`
	Rotation   int               `json:"rotation,omitempty"` // degrees counter-clockwise, from the display matrix
	Channels   int               `json:"channels,omitempty"`
	SampleRate int               `json:"sample_rate,omitempty"`
	Language   string            `json:"language,omitempty"`
	Title      string            `json:"title,omitempty"`
	Cover      bool              `json:"cover,omitempty"` // an attached picture, not a video
	Packets    int               `json:"packets"`
	Start      float64           `json:"start_seconds"` // first presented timestamp
	End        float64           `json:"end_seconds"`   // last timestamp plus its duration
	Tags       map[string]string `json:"-"`
}

// Duration is the span of the stream's packets in seconds.
func (s *Stream) Duration() float64 { return s.End - s.Start }

// Frame is one video frame, in presentation order.
type Frame struct {
	PTS int64 // in the video stream's time base
	Key bool
}

// Media describes a probed file.
type Media struct {
	Path     string
	Format   string  // ffprobe's format_name
	Start    float64 // the container's start time in seconds, which ffmpeg's -ss is relative to
	Duration float64 // seconds, from the container
	Size     int64
	Streams  []Stream
	Chapters int
	Video    *Stream // the first video stream that is not a cover picture
	Frames   []Frame // every frame of Video, sorted by PTS
	FrameEnd int64   // PTS just after the last frame of Video
}

// VideoDuration is the span of the video frames in seconds.
func (m *Media) VideoDuration() float64 {
	if m.Video == nil || len(m.Frames) == 0 {
		return 0
	}
	return m.Video.TimeBase.Seconds(m.FrameEnd - m.Frames[0].PTS)
}

// StreamsOf returns the streams of type typ, cover pictures excluded.
func (m *Media) StreamsOf(typ StreamType) []*Stream {
	var out []*Stream
	for i := range m.Streams {
		if s := &m.Streams[i]; s.Type == typ && !s.Cover {
			out = append(out, s)
		}
	}
	return out
}

// Keyframes counts the key frames of the video stream.
func (m *Media) Keyframes() int {
	n := 0
	for _, f := range m.Frames {
		if f.Key {
			n++
		}
	}
	return n
}

// VFR reports whether the video's frame intervals vary, beyond the rounding of
// its time base.
func (m *Media) VFR() bool {
	if len(m.Frames) < 3 {
		return false
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for i := 1; i < len(m.Frames); i++ {
		d := m.Frames[i].PTS - m.Frames[i-1].PTS
		lo, hi = min(lo, d), max(hi, d)
	}
	return hi-lo > max(2, lo/20)
}
