package splitter

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"github.com/chunkcode/chunkcode/transcode/media"
)

// Aligned is the plan of a streaming ladder: media segments of one length
// on the source's timeline, and encode chunks that each hold a whole number
// of them, so no media segment straddles two chunks.
//
// Media segment k starts on the first frame presented at or after
// k×Length from the first frame; every rung has a keyframe there. The last
// segment may be shorter, down to half the length, below which it joins
// the one before; a gap in a variable frame rate source longer than Length
// merges the segments it swallows into one.
type Aligned struct {
	Length time.Duration `json:"length_ns"`
	// Starts holds the first frame of every media segment, as an index
	// into the source's frames; Starts[0] is 0.
	Starts []int `json:"starts"`
	// Chunks are the encode chunks, in order.
	Chunks   []Chunk        `json:"chunks"`
	Frames   int            `json:"frames"`
	TimeBase media.Rational `json:"time_base"`
	// FrameEnd is the presentation time just after the last frame, in
	// TimeBase units.
	FrameEnd int64 `json:"frame_end"`
}

// Chunk is one encode of an Aligned plan: a Segment of source frames that
// holds Media media segments, from FirstMedia on.
type Chunk struct {
	Segment
	FirstMedia int `json:"first_media_segment"`
	Media      int `json:"media_segments"`
}

// KeyFrames returns the first frame of each of c's media segments, counted
// from the chunk's first frame: where its encoder must place keyframes.
func (p *Aligned) KeyFrames(c Chunk) []int {
	out := make([]int, c.Media)
	for i := range out {
		out[i] = p.Starts[c.FirstMedia+i] - c.First
	}
	return out
}

// SegmentPTS returns where media segment k starts and ends, in TimeBase
// units, for a source whose frames are frames.
func (p *Aligned) SegmentPTS(frames []media.Frame, k int) (start, end int64) {
	start = frames[p.Starts[k]].PTS
	end = p.FrameEnd
	if k+1 < len(p.Starts) {
		end = frames[p.Starts[k+1]].PTS
	}
	return start, end
}

// Align plans m's media segments of length and groups them into chunks.
// chunk is the target chunk length, rounded to whole segments; 0 gives
// every worker about SegmentsPerWorker chunks, each at least MinAuto and at
// most MaxAuto long (but at least one segment).
func Align(m *media.Media, length, chunk time.Duration, workers int) (*Aligned, error) {
	if m.Video == nil || len(m.Frames) == 0 {
		return nil, ErrNoFrames
	}
	if length <= 0 {
		return nil, fmt.Errorf("segment length %v is not positive", length)
	}
	tb := m.Video.TimeBase
	if tb.Num <= 0 || tb.Den <= 0 {
		return nil, fmt.Errorf("video time base %v", tb)
	}
	frames := m.Frames
	first := frames[0].PTS
	// length in time base units, exactly: length × Den / (Num × 1e9).
	step := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(int64(length)), big.NewInt(tb.Den)), big.NewInt(tb.Num*int64(time.Second)))
	p := &Aligned{Length: length, Frames: len(frames), TimeBase: tb, FrameEnd: m.FrameEnd, Starts: []int{0}}
	for k := int64(1); ; k++ {
		off := new(big.Rat).Mul(step, big.NewRat(k, 1))
		ticks := new(big.Int).Quo(off.Num(), off.Denom()) // floor
		if new(big.Rat).SetInt(ticks).Cmp(off) < 0 {
			ticks.Add(ticks, big.NewInt(1)) // ceil: the first frame at or after
		}
		if !ticks.IsInt64() || first+ticks.Int64() >= m.FrameEnd {
			break
		}
		at := first + ticks.Int64()
		i := sort.Search(len(frames), func(i int) bool { return frames[i].PTS >= at })
		if i >= len(frames) {
			break
		}
		if i > p.Starts[len(p.Starts)-1] {
			p.Starts = append(p.Starts, i)
		}
	}

	// A last segment shorter than half the length joins the one before:
	// a segment of a frame or two would declare a peak rate many times
	// the real one and make players fetch it for nothing.
	if n := len(p.Starts); n > 1 {
		last := new(big.Rat).SetInt64(m.FrameEnd - frames[p.Starts[n-1]].PTS)
		if last.Cmp(new(big.Rat).Mul(step, big.NewRat(1, 2))) < 0 {
			p.Starts = p.Starts[:n-1]
		}
	}
	n := len(p.Starts)
	per := 1
	if chunk > 0 {
		per = max(1, int(math.Round(float64(chunk)/float64(length))))
	} else {
		per = max(per, (n+max(workers, 1)*SegmentsPerWorker-1)/(max(workers, 1)*SegmentsPerWorker))
		per = max(per, int(math.Ceil(float64(MinAuto)/float64(length))))
		// A chunk's rungs are cut into segments in memory one segment
		// at a time, but a long chunk retried costs all its work again.
		per = min(per, max(1, int(float64(MaxAuto)/float64(length))))
	}
	var cuts []int
	var firsts []int
	for k := 0; k < n; k += per {
		cuts = append(cuts, p.Starts[k])
		firsts = append(firsts, k)
	}
	var keys []int
	for i, f := range frames {
		if f.Key {
			keys = append(keys, i)
		}
	}
	for i, s := range segments(m, keys, cuts) {
		count := min(per, n-firsts[i])
		p.Chunks = append(p.Chunks, Chunk{Segment: s, FirstMedia: firsts[i], Media: count})
	}
	return p, nil
}
