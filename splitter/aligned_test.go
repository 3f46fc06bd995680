package splitter

import (
	"slices"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/transcode/media"
)

// frames returns a source with frames at the given times in milliseconds
// (time base 1/1000), the first of them a keyframe, ending at end.
func framesAt(end int64, ms ...int64) *media.Media {
	m := &media.Media{Format: "mov,mp4", Video: &media.Stream{TimeBase: media.Rational{Num: 1, Den: 1000}}, FrameEnd: end}
	for i, t := range ms {
		m.Frames = append(m.Frames, media.Frame{PTS: t, Key: i == 0})
	}
	return m
}

func TestAlign(t *testing.T) {
	var cfr []int64
	for i := range 250 { // 10 s at 25 fps, starting at 1.5 s
		cfr = append(cfr, 1500+int64(i)*40)
	}
	tests := []struct {
		name        string
		m           *media.Media
		length      time.Duration
		chunk       time.Duration
		workers     int
		starts      []int
		chunkFirsts []int // first media segment of every chunk
	}{
		{"constant rate, one segment a chunk", framesAt(11500, cfr...), 2 * time.Second, 2 * time.Second, 1,
			[]int{0, 50, 100, 150, 200}, []int{0, 1, 2, 3, 4}},
		{"chunks of whole segments, the last shorter", framesAt(11500, cfr...), 2 * time.Second, 5 * time.Second, 1,
			[]int{0, 50, 100, 150, 200}, []int{0, 3}},
		{"a last segment under half the length joins the one before", framesAt(11520, slices.Concat(cfr, []int64{11500})...), 2 * time.Second, 2 * time.Second, 1,
			[]int{0, 50, 100, 150, 200}, []int{0, 1, 2, 3, 4}},
		{"a last segment of half the length or more stays", framesAt(12500, slices.Concat(cfr, []int64{11500, 11540, 11580, 11620, 11660, 11700, 11740, 11780, 11820, 11860, 11900, 11940, 11980, 12020, 12060, 12100, 12140, 12180, 12220, 12260, 12300, 12340, 12380, 12420, 12460})...), 2 * time.Second, 2 * time.Second, 1,
			[]int{0, 50, 100, 150, 200, 250}, []int{0, 1, 2, 3, 4, 5}},
		{"a boundary between frames starts on the next frame", framesAt(1000, 0, 300, 700, 900), 500 * time.Millisecond, time.Second, 1,
			[]int{0, 2}, []int{0}},
		{"a gap longer than a segment merges the segments it swallows", framesAt(4000, 0, 100, 3000, 3500), time.Second, 0, 1,
			[]int{0, 2}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Align(tt.m, tt.length, tt.chunk, tt.workers)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Starts, tt.starts) {
				t.Errorf("starts %v, want %v", p.Starts, tt.starts)
			}
			var firsts []int
			frames, media := 0, 0
			for _, c := range p.Chunks {
				firsts = append(firsts, c.FirstMedia)
				if c.First != p.Starts[c.FirstMedia] {
					t.Errorf("chunk %d starts on frame %d, its first media segment on %d", c.Index, c.First, p.Starts[c.FirstMedia])
				}
				if k := p.KeyFrames(c); k[0] != 0 || len(k) != c.Media {
					t.Errorf("chunk %d: key frames %v for %d media segments", c.Index, k, c.Media)
				}
				frames += c.Frames
				media += c.Media
			}
			if !slices.Equal(firsts, tt.chunkFirsts) {
				t.Errorf("chunks start at media segments %v, want %v", firsts, tt.chunkFirsts)
			}
			if frames != len(tt.m.Frames) || media != len(p.Starts) {
				t.Errorf("chunks hold %d frames and %d media segments, want %d and %d", frames, media, len(tt.m.Frames), len(p.Starts))
			}
		})
	}
}
