package splitter_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// source describes synthetic media: no ffmpeg is needed to plan.
type source struct {
	frames   int
	rate     int64 // frames per second; the time base is 1/(rate*ticks)
	ticks    int64 // time base ticks per frame
	keyEvery int   // frames between keyframes; 0 for the first frame only
	format   string
	start    float64 // container start, seconds
	firstPTS int64
	pts      func(i int) int64 // overrides the constant frame rate
}

func (s source) media() *media.Media {
	if s.ticks == 0 {
		s.ticks = 1
	}
	if s.format == "" {
		s.format = "mov,mp4,m4a,3gp,3g2,mj2"
	}
	tb := media.Rational{Num: 1, Den: s.rate * s.ticks}
	m := &media.Media{Path: "synthetic", Format: s.format, Start: s.start,
		Streams: []media.Stream{{Index: 0, Type: "video", Codec: "h264", TimeBase: tb}}}
	m.Video = &m.Streams[0]
	for i := range s.frames {
		pts := s.firstPTS + int64(i)*s.ticks
		if s.pts != nil {
			pts = s.firstPTS + s.pts(i)
		}
		key := i == 0 || (s.keyEvery > 0 && i%s.keyEvery == 0)
		m.Frames = append(m.Frames, media.Frame{PTS: pts, Key: key})
	}
	if n := len(m.Frames); n > 0 {
		m.FrameEnd = m.Frames[n-1].PTS + s.ticks
	}
	return m
}

// checkInvariants asserts what every plan must hold: contiguous,
// non-empty segments that add up to every frame, each knowing its first
// frame's timestamp and a seek that does not pass it.
func checkInvariants(t *testing.T, m *media.Media, p *splitter.Plan) {
	t.Helper()
	require.NotEmpty(t, p.Segments)
	assert.Equal(t, len(m.Frames), p.Frames)
	next, total := 0, 0
	startMicros := int64(m.Start*1e6 + 0.5)
	for i, s := range p.Segments {
		assert.Equal(t, i, s.Index, "index")
		assert.Equal(t, next, s.First, "segment %d starts where the previous ended", i)
		assert.Positive(t, s.Frames, "segment %d is empty", i)
		assert.Equal(t, m.Frames[s.First].PTS, s.StartPTS, "segment %d start PTS", i)
		assert.Equal(t, m.Frames[s.First].Key, s.Keyframe, "segment %d keyframe flag", i)
		if i+1 < len(p.Segments) {
			assert.Equal(t, p.Segments[i+1].StartPTS, s.EndPTS, "segment %d ends where the next starts", i)
		} else {
			assert.Equal(t, m.FrameEnd, s.EndPTS, "the last segment ends with the last frame")
		}
		// The seek may not pass the first frame, or ffmpeg drops it.
		frameMicros := float64(s.StartPTS) * 1e6 * m.Video.TimeBase.Float()
		assert.LessOrEqual(t, float64(s.SeekMicros+startMicros), frameMicros+1e-6, "segment %d seeks past its first frame", i)
		assert.GreaterOrEqual(t, s.SeekMicros, int64(0))
		assert.GreaterOrEqual(t, s.PrerollMicros, int64(0))
		assert.LessOrEqual(t, s.PrerollMicros, s.SeekMicros, "segment %d reads from before the file", i)
		next += s.Frames
		total += s.Frames
	}
	assert.Equal(t, len(m.Frames), total, "the segments add up to every frame")
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		src  source
		opts splitter.Options
		// want is the first frame of every segment; keyframe says which
		// segments start on keyframes.
		want     []int
		keyframe []bool
	}{
		{
			name: "cuts on keyframes at the target",
			src:  source{frames: 250, rate: 25, keyEvery: 25},
			opts: splitter.Options{SegmentDuration: 2 * time.Second},
			want: []int{0, 50, 100, 150, 200}, keyframe: []bool{true, true, true, true, true},
		},
		{
			name: "snaps to a keyframe near the ideal cut",
			src:  source{frames: 240, rate: 24, keyEvery: 23},
			opts: splitter.Options{SegmentDuration: 5 * time.Second},
			want: []int{0, 115}, keyframe: []bool{true, true},
		},
		{
			name: "cuts exact frames when the clip has one keyframe",
			src:  source{frames: 100, rate: 25},
			opts: splitter.Options{SegmentDuration: time.Second},
			want: []int{0, 25, 50, 75}, keyframe: []bool{true, false, false, false},
		},
		{
			name: "cuts exact frames between sparse keyframes",
			src:  source{frames: 300, rate: 25, keyEvery: 250},
			opts: splitter.Options{SegmentDuration: 3 * time.Second},
			want: []int{0, 75, 150, 250}, keyframe: []bool{true, false, false, true},
		},
		{
			name: "one segment when the target is longer than the clip",
			src:  source{frames: 50, rate: 25, keyEvery: 25},
			opts: splitter.Options{SegmentDuration: time.Minute},
			want: []int{0}, keyframe: []bool{true},
		},
		{
			name: "automatic length gives each worker several segments",
			src:  source{frames: 60 * 25, rate: 25, keyEvery: 25},
			opts: splitter.Options{Workers: 2},
			// 60s / (2 workers * 4) = 7.5s
			want:     []int{0, 200, 375, 575, 750, 950, 1125, 1325},
			keyframe: []bool{true, true, true, true, true, true, true, true},
		},
		{
			name: "automatic length is at least MinAuto",
			src:  source{frames: 300, rate: 25, keyEvery: 25},
			opts: splitter.Options{Workers: 8},
			want: []int{0, 150}, keyframe: []bool{true, true},
		},
		{
			// 17 s makes three segments of MinAuto; four give both
			// workers an equal share.
			name: "a few automatic segments are a multiple of the workers",
			src:  source{frames: 425, rate: 25, keyEvery: 25},
			opts: splitter.Options{Workers: 2},
			want: []int{0, 100, 225, 325}, keyframe: []bool{true, true, true, true},
		},
		{
			// With one segment a worker, cutting at the keyframe 1 s away
			// would leave one worker idle for a fifth of the clip.
			name: "one automatic segment a worker is cut evenly",
			src:  source{frames: 300, rate: 30, keyEvery: 60},
			opts: splitter.Options{Workers: 2},
			want: []int{0, 150}, keyframe: []bool{true, false},
		},
		{
			name: "a clip shorter than MinAuto is one segment",
			src:  source{frames: 100, rate: 25, keyEvery: 25},
			opts: splitter.Options{Workers: 2},
			want: []int{0}, keyframe: []bool{true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.src.media()
			p, err := splitter.New(m, tt.opts)
			require.NoError(t, err)
			checkInvariants(t, m, p)
			var firsts []int
			var keys []bool
			for _, s := range p.Segments {
				firsts = append(firsts, s.First)
				keys = append(keys, s.Keyframe)
			}
			assert.Equal(t, tt.want, firsts, "first frames")
			assert.Equal(t, tt.keyframe, keys, "keyframe starts")
			n := 0
			for _, k := range tt.keyframe {
				if k {
					n++
				}
			}
			assert.Equal(t, n, p.KeyframeCuts())
		})
	}
}

func TestNewInvariants(t *testing.T) {
	vfr := func(i int) int64 { return int64(i/2)*70 + int64(i%2)*20 } // ms: 20 and 50 apart
	tests := []struct {
		name string
		src  source
		opts splitter.Options
	}{
		{"more segments asked for than frames", source{frames: 3, rate: 25}, splitter.Options{SegmentDuration: time.Millisecond}},
		{"a single frame", source{frames: 1, rate: 25}, splitter.Options{SegmentDuration: time.Millisecond}},
		{"variable frame rate", source{frames: 101, rate: 1, ticks: 1000, keyEvery: 10, pts: vfr}, splitter.Options{SegmentDuration: 300 * time.Millisecond}},
		{"timestamps not starting at zero", source{frames: 200, rate: 25, ticks: 3600, keyEvery: 12, firstPTS: 133200, start: 1.458667, format: "mpegts"}, splitter.Options{SegmentDuration: 700 * time.Millisecond}},
		{"long GOPs", source{frames: 1000, rate: 30, keyEvery: 300}, splitter.Options{Workers: 2}},
		{"automatic length at most MaxAuto", source{frames: 2 * 3600 * 25, rate: 25, keyEvery: 250}, splitter.Options{Workers: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.src.media()
			p, err := splitter.New(m, tt.opts)
			require.NoError(t, err)
			checkInvariants(t, m, p)
			assert.LessOrEqual(t, len(p.Segments), len(m.Frames))
			var sum float64
			for _, s := range p.Segments {
				sum += p.Duration(s)
			}
			assert.InDelta(t, m.VideoDuration(), sum, 1e-9, "segment durations add up to the video's")
		})
	}
	t.Run("MaxAuto bounds the target", func(t *testing.T) {
		p, err := splitter.New(source{frames: 2 * 3600 * 25, rate: 25, keyEvery: 250}.media(), splitter.Options{Workers: 1})
		require.NoError(t, err)
		assert.Equal(t, splitter.MaxAuto, p.Target)
		assert.Len(t, p.Segments, 24)
	})
}

func TestSeekMicros(t *testing.T) {
	tests := []struct {
		name  string
		tb    media.Rational
		start float64
		pts   int64
		want  int64
	}{
		{"exact", media.Rational{Num: 1, Den: 1000}, 0, 1500, 1_500_000},
		{"rounds down, never past the frame", media.Rational{Num: 1, Den: 90000}, 0, 5, 55},
		{"rounds down two thirds", media.Rational{Num: 1, Den: 3}, 0, 2, 666_666},
		{"rounds down 1001/30000", media.Rational{Num: 1001, Den: 30000}, 0, 7, 233_566},
		{"relative to the container start", media.Rational{Num: 1, Den: 90000}, 1.458667, 262800, 1_461_333},
		{"never negative", media.Rational{Num: 1, Den: 90000}, 1.0, 89999, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &media.Media{Format: "matroska,webm", Start: tt.start,
				Streams: []media.Stream{{Type: "video", TimeBase: tt.tb}}}
			m.Video = &m.Streams[0]
			m.Frames = []media.Frame{{PTS: 0, Key: true}, {PTS: tt.pts, Key: true}}
			m.FrameEnd = tt.pts + 1
			p, err := splitter.New(m, splitter.Options{SegmentDuration: time.Duration(tt.tb.Seconds(tt.pts) * float64(time.Second) / 1.5)})
			require.NoError(t, err)
			require.Len(t, p.Segments, 2, "plan %+v", p.Segments)
			assert.Equal(t, tt.want, p.Segments[1].SeekMicros)
		})
	}
}

func TestPreroll(t *testing.T) {
	const s = int64(time.Second / time.Microsecond)
	tests := []struct {
		format string
		want   []int64 // preroll of each segment
	}{
		// Indexed formats seek exactly: no preroll.
		{"mov,mp4,m4a,3gp,3g2,mj2", []int64{0, 0, 0, 0}},
		{"matroska,webm", []int64{0, 0, 0, 0}},
		// Others read from a second before the keyframe each segment
		// decodes from: segment 1 starts on the keyframe at 2s, segment 2
		// at 3s between the keyframes at 2s and 4s, segment 3 on 4s.
		{"mpegts", []int64{0, s, 2 * s, s}},
		{"mpeg", []int64{0, s, 2 * s, s}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			// Keyframes every 2s; 1.5s segments cut at 0, 2s (keyframe),
			// 3s (exact frame) and 4s (keyframe).
			m := source{frames: 150, rate: 25, keyEvery: 50, format: tt.format}.media()
			p, err := splitter.New(m, splitter.Options{SegmentDuration: 1500 * time.Millisecond})
			require.NoError(t, err)
			checkInvariants(t, m, p)
			var got []int64
			for _, seg := range p.Segments {
				got = append(got, seg.PrerollMicros)
			}
			assert.Equal(t, tt.want, got, "prerolls of %s", describe(p))
		})
	}
}

func describe(p *splitter.Plan) string {
	s := ""
	for _, seg := range p.Segments {
		s += fmt.Sprintf("[%d+%d key=%v] ", seg.First, seg.Frames, seg.Keyframe)
	}
	return s
}

func TestNewErrors(t *testing.T) {
	t.Run("no frames", func(t *testing.T) {
		_, err := splitter.New(source{rate: 25}.media(), splitter.Options{})
		assert.True(t, errors.Is(err, splitter.ErrNoFrames), "got %v", err)
	})
	t.Run("no video", func(t *testing.T) {
		_, err := splitter.New(&media.Media{}, splitter.Options{})
		assert.ErrorIs(t, err, splitter.ErrNoFrames)
	})
	t.Run("negative segment duration", func(t *testing.T) {
		_, err := splitter.New(source{frames: 10, rate: 25}.media(), splitter.Options{SegmentDuration: -time.Second})
		assert.ErrorContains(t, err, "negative")
	})
}
