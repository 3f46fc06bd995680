// Package splitter turns a probed source into a segment plan: where each
// segment starts, on which frame, and how many frames it has.
//
// Cuts sit on keyframes when a keyframe lies close enough to the ideal cut,
// so each segment's decode starts right where it is read. Where keyframes are
// sparse (a clip in one GOP, very long GOPs) a cut falls on an exact frame
// instead: the segment's encoder decodes from the previous keyframe and drops
// what comes before its first frame.
package splitter

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode/media"
)

// Options control the plan.
type Options struct {
	// Workers is how many segments are encoded at once. The automatic
	// segment duration gives each worker several segments, so the last ones
	// finish close together.
	Workers int
	// SegmentDuration is the target length of a segment; 0 picks one from
	// the duration and Workers.
	SegmentDuration time.Duration
}

// Limits of the automatic segment duration.
const (
	// SegmentsPerWorker is how many segments the automatic plan gives each
	// worker: enough that longest-first scheduling ends evenly, few enough
	// that per-segment start-up stays small.
	SegmentsPerWorker = 4
	// MinAuto is the shortest automatic segment. Starting an encoder, which
	// loads ffmpeg, opens and seeks the source and fills the encoder's
	// lookahead, costs about a third of a CPU-second; a segment of a few
	// seconds would spend a large part of its time on that.
	MinAuto = 5 * time.Second
	MaxAuto = 5 * time.Minute
)

// Segment is one contiguous run of source frames.
type Segment struct {
	Index      int   `json:"index"`
	First      int   `json:"first_frame"` // index of the first frame, in presentation order
	Frames     int   `json:"frames"`
	StartPTS   int64 `json:"start_pts"` // in the video time base
	EndPTS     int64 `json:"end_pts"`   // the next segment's StartPTS, or the end of the last frame
	SeekMicros int64 `json:"seek_us"`   // ffmpeg -ss for the first frame: microseconds from the container start
	Keyframe   bool  `json:"keyframe"`  // the segment starts on a keyframe
	// PrerollMicros is how long before SeekMicros reading must start, 0
	// for sources ffmpeg seeks exactly by an index (MP4, Matroska). Others,
	// such as MPEG-TS, are searched by timestamps and a seek can land past
	// the keyframe the segment decodes from; they read from ReadMargin
	// before that keyframe and cut at StartPTS.
	PrerollMicros int64 `json:"preroll_us,omitempty"`
}

// ReadMargin is how far before a segment's keyframe reading starts in a
// source ffmpeg cannot seek exactly. It exceeds the reordering delay of
// B-frames, so the keyframe is read whole wherever the seek lands.
const ReadMargin = time.Second

// Plan is the full list of segments for one source.
type Plan struct {
	Segments []Segment `json:"segments"`
	Frames   int       `json:"frames"`
	// Target is the segment duration the cuts aimed at.
	Target   time.Duration  `json:"target_ns"`
	TimeBase media.Rational `json:"time_base"`
}

// Duration is the length of s in seconds.
func (p *Plan) Duration(s Segment) float64 { return p.TimeBase.Seconds(s.EndPTS - s.StartPTS) }

// KeyframeCuts counts segments that start on a keyframe.
func (p *Plan) KeyframeCuts() int {
	n := 0
	for _, s := range p.Segments {
		if s.Keyframe {
			n++
		}
	}
	return n
}

// ErrNoFrames is returned for a source without video frames.
var ErrNoFrames = errors.New("no video frames to plan")

// New plans the segments of m.
func New(m *media.Media, o Options) (*Plan, error) {
	if m.Video == nil || len(m.Frames) == 0 {
		return nil, ErrNoFrames
	}
	if o.SegmentDuration < 0 {
		return nil, fmt.Errorf("segment duration %v is negative", o.SegmentDuration)
	}
	frames := m.Frames
	tb := m.Video.TimeBase
	first := frames[0].PTS
	totalTicks := m.FrameEnd - first
	total := time.Duration(tb.Seconds(totalTicks) * float64(time.Second))

	target := o.SegmentDuration
	workers := max(o.Workers, 1)
	if target == 0 {
		target = total / time.Duration(workers*SegmentsPerWorker)
		target = min(max(target, MinAuto), MaxAuto)
	}
	count := 1
	if target > 0 && total > target {
		count = int(math.Round(float64(total) / float64(target)))
	}
	if o.SegmentDuration == 0 && count >= workers && count < workers*SegmentsPerWorker {
		// With only a few segments a worker each, an equal share per
		// worker matters more than the exact length.
		count = workers * int(math.Round(float64(count)/float64(workers)))
	}
	count = max(1, min(count, len(frames)))

	var keys []int // indexes of keyframes
	for i, f := range frames {
		if f.Key {
			keys = append(keys, i)
		}
	}
	step := float64(totalTicks) / float64(count)
	tolerance := int64(step / 2)
	if o.SegmentDuration == 0 && count > 1 && count <= workers {
		// One segment a worker: they finish together only if they are
		// equally long, which is worth decoding from an earlier keyframe.
		tolerance = int64(step / 20)
	}

	cuts := []int{0}
	for k := 1; k < count; k++ {
		ideal := first + int64(math.Round(step*float64(k)))
		cut := nearest(frames, keys, ideal, tolerance)
		if cut <= cuts[len(cuts)-1] || cut >= len(frames) {
			continue
		}
		cuts = append(cuts, cut)
	}

	p := &Plan{Frames: len(frames), Target: target, TimeBase: tb}
	p.Segments = segments(m, keys, cuts)
	return p, nil
}

// segments returns the segments of m that start at the frames cuts, an
// increasing list that starts at 0; keys are the indexes of its keyframes.
func segments(m *media.Media, keys, cuts []int) []Segment {
	frames := m.Frames
	exact := seeksExactly(m.Format)
	var segs []Segment
	for i, c := range cuts {
		end := len(frames)
		endPTS := m.FrameEnd
		if i+1 < len(cuts) {
			end = cuts[i+1]
			endPTS = frames[end].PTS
		}
		seek := SeekMicros(m, c)
		var preroll int64
		if !exact {
			key := 0 // the keyframe the segment decodes from
			if k := sort.SearchInts(keys, c+1); k > 0 {
				key = keys[k-1]
			}
			read := max(SeekMicros(m, key)-ReadMargin.Microseconds(), 0)
			preroll = seek - min(read, seek)
		}
		segs = append(segs, Segment{
			Index:         i,
			First:         c,
			Frames:        end - c,
			StartPTS:      frames[c].PTS,
			EndPTS:        endPTS,
			SeekMicros:    seek,
			Keyframe:      frames[c].Key,
			PrerollMicros: preroll,
		})
	}
	return segs
}

// SeekMicros is where frame (an index into m.Frames) starts for ffmpeg's
// input -ss: microseconds from the start of the container, rounded down, 0
// for a frame before it.
func SeekMicros(m *media.Media, frame int) int64 {
	start := int64(math.Round(m.Start * 1e6))
	return max(m.Video.TimeBase.Micros(m.Frames[frame].PTS)-start, 0)
}

// seeksExactly reports whether ffmpeg seeks in a file of format, as ffprobe
// names it, by an index that lands on the keyframe at or before the target.
func seeksExactly(format string) bool {
	for _, f := range strings.Split(format, ",") {
		switch f {
		case "mov", "mp4", "matroska", "webm":
			return true
		}
	}
	return false
}

// nearest returns the index of the keyframe closest to ideal if one lies
// within tolerance, else of the frame closest to ideal.
func nearest(frames []media.Frame, keys []int, ideal, tolerance int64) int {
	best, bestDist := -1, int64(math.MaxInt64)
	k := sort.Search(len(keys), func(i int) bool { return frames[keys[i]].PTS >= ideal })
	for _, j := range []int{k - 1, k} {
		if j < 0 || j >= len(keys) {
			continue
		}
		if d := abs(frames[keys[j]].PTS - ideal); d < bestDist {
			best, bestDist = keys[j], d
		}
	}
	if best > 0 && bestDist <= tolerance {
		return best
	}
	i := sort.Search(len(frames), func(i int) bool { return frames[i].PTS >= ideal })
	if i > 0 && (i == len(frames) || ideal-frames[i-1].PTS < frames[i].PTS-ideal) {
		i--
	}
	return i
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
