package observe

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Interval is a span of time.
type Interval struct{ Start, End time.Time }

// Seconds is the interval's length, 0 when it ends before it starts.
func (i Interval) Seconds() float64 { return max(0, i.End.Sub(i.Start).Seconds()) }

// clip returns i within o.
func (i Interval) clip(o Interval) Interval {
	if i.Start.Before(o.Start) {
		i.Start = o.Start
	}
	if i.End.After(o.End) {
		i.End = o.End
	}
	return i
}

// Busy is a time a worker (from 1) spent on a segment attempt.
type Busy struct {
	Worker int
	Interval
}

// Utilization is the busy worker-seconds within encode ÷ (workers × encode's
// length): 1 when every worker was busy all along. It is 0 for no workers or
// an empty encode.
func Utilization(busy []Busy, workers int, encode Interval) float64 {
	wall := encode.Seconds()
	if workers <= 0 || wall == 0 {
		return 0
	}
	sum := 0.0
	for _, b := range busy {
		sum += b.clip(encode).Seconds()
	}
	return math.Min(1, sum/(float64(workers)*wall))
}

// TailSeconds is the idle tail of encode: the time from when the first
// worker went idle for good (its last attempt ended, or the encode started
// for a worker that had none) to the end of the encode. It is 0 when every
// worker was busy until the end.
func TailSeconds(busy []Busy, workers int, encode Interval) float64 {
	if workers <= 0 || encode.Seconds() == 0 {
		return 0
	}
	last := make([]time.Time, workers+1)
	for i := range last {
		last[i] = encode.Start
	}
	for _, b := range busy {
		if b.Worker < 1 || b.Worker > workers {
			continue
		}
		if end := b.clip(encode).End; end.After(last[b.Worker]) {
			last[b.Worker] = end
		}
	}
	first := slices.MinFunc(last[1:], func(a, b time.Time) int { return a.Compare(b) })
	return encode.End.Sub(first).Seconds()
}

// Bar states: the class of a timeline's bar, which gives its colour.
const (
	StateEncoding = "encoding" // a segment attempt that succeeded
	StateFailed   = "failed"   // a segment attempt that failed, retried or not
	StateStaging  = "staging"
	StateAudio    = "audio"
	StateEncode   = "encode" // the encode stage, under the workers' bars
	StateStage    = "stage"  // probe, plan, merge, verify
)

// Bar is one bar of a timeline.
type Bar struct {
	Lane  int // index in Timeline.Lanes
	State string
	Label string
	Interval
	Segment, Attempt, Worker int // a segment attempt's
	Err                      string
}

// Timeline is a Gantt chart of a run: a lane for the stages, one each for
// the audio and the staging when the run had them, and one per worker, each
// with a bar per segment attempt.
type Timeline struct {
	Lanes   []string
	Bars    []Bar
	Workers int
	Run     Interval // from the first span's start to the last one's end
	Encode  Interval // the encode stage, or the attempts when it has no span
	Busy    []Busy
}

// minSideLane is how long an audio or staging stage must take for the
// timeline to draw it a lane.
const minSideLane = time.Millisecond

// NewTimeline lays out spans, as Recorder.Spans returns them. The number of
// workers is the run span's chunkcode.workers, or the highest slot used.
func NewTimeline(spans []SpanData) *Timeline {
	t := &Timeline{}
	var attempts Interval
	for _, s := range spans {
		iv := Interval{s.Start, s.End}
		if t.Run.Start.IsZero() || iv.Start.Before(t.Run.Start) {
			t.Run.Start = iv.Start
		}
		if iv.End.After(t.Run.End) {
			t.Run.End = iv.End
		}
		switch {
		case s.Kind == KindRun:
			if n, ok := s.Attrs[string(KeyWorkers)].(int64); ok {
				t.Workers = max(t.Workers, int(n))
			}
		case s.Kind == KindStage && s.Stage == "encode":
			t.Encode = iv
		case s.Kind == KindAttempt:
			t.Workers = max(t.Workers, s.Worker)
			t.Busy = append(t.Busy, Busy{s.Worker, iv})
			if attempts.Start.IsZero() || iv.Start.Before(attempts.Start) {
				attempts.Start = iv.Start
			}
			if iv.End.After(attempts.End) {
				attempts.End = iv.End
			}
		}
	}
	if t.Encode.Start.IsZero() {
		t.Encode = attempts
	}

	t.Lanes = []string{"stages"}
	side := map[string]int{}
	for _, st := range []string{StageAudio, StagePrepare} {
		// A backend with nothing to stage (the local one) has a prepare
		// span all the same, of microseconds: no lane for that.
		if slices.ContainsFunc(spans, func(s SpanData) bool {
			return s.Kind == KindStage && s.Stage == st && s.Duration() >= minSideLane
		}) {
			side[st] = len(t.Lanes)
			t.Lanes = append(t.Lanes, map[string]string{StageAudio: "audio", StagePrepare: "staging"}[st])
		}
	}
	firstWorker := len(t.Lanes)
	for w := 1; w <= t.Workers; w++ {
		t.Lanes = append(t.Lanes, fmt.Sprintf("worker %d", w))
	}
	for _, s := range spans {
		b := Bar{Interval: Interval{s.Start, s.End}, Label: label(s), Err: s.Err}
		switch {
		case s.Kind == KindAttempt && s.Worker >= 1:
			b.Lane, b.State = firstWorker+s.Worker-1, StateEncoding
			if s.Failed {
				b.State = StateFailed
			}
			b.Segment, b.Attempt, b.Worker = s.Segment, s.Attempt, s.Worker
		case s.Kind != KindStage:
			continue
		case s.Stage == StageAudio || s.Stage == StagePrepare:
			lane, ok := side[s.Stage]
			if !ok {
				continue // too short for a lane
			}
			b.Lane, b.State = lane, map[string]string{StageAudio: StateAudio, StagePrepare: StateStaging}[s.Stage]
		case s.Stage == "encode":
			b.State = StateEncode
		default:
			b.State = StateStage
		}
		t.Bars = append(t.Bars, b)
	}
	slices.SortStableFunc(t.Bars, func(a, b Bar) int { return a.Start.Compare(b.Start) })
	return t
}

// Utilization is Utilization of the timeline's attempts.
func (t *Timeline) Utilization() float64 { return Utilization(t.Busy, t.Workers, t.Encode) }

// TailSeconds is TailSeconds of the timeline's attempts.
func (t *Timeline) TailSeconds() float64 { return TailSeconds(t.Busy, t.Workers, t.Encode) }

// Layout of the SVG, in pixels.
const (
	svgWidth  = 960
	svgLeft   = 90 // lane names
	svgRight  = 20
	svgTop    = 44 // title and legend
	svgLane   = 22
	svgGap    = 6
	svgBottom = 30 // time axis
	// svgTailLabel is about how wide the idle tail's label is.
	svgTailLabel = 90
)

var colours = []struct{ state, fill string }{
	{StateEncoding, "#4caf50"}, {StateFailed, "#e53935"}, {StateStaging, "#1e88e5"},
	{StateAudio, "#8e24aa"}, {StateEncode, "#c8e6c9"}, {StateStage, "#fb8c00"},
}

// Width and Height are the size of the SVG WriteSVG draws.
func (t *Timeline) Width() int  { return svgWidth }
func (t *Timeline) Height() int { return svgTop + len(t.Lanes)*(svgLane+svgGap) + svgBottom }

// WriteSVG draws the timeline: a <g class="lane"> per lane holding a
// <rect class="bar STATE"> per bar (with data-segment, data-attempt and
// data-worker for an attempt, and a <title>), a <rect class="tail"> over
// the workers' lanes for the idle tail, and a time axis.
func (t *Timeline) WriteSVG(w io.Writer) error {
	var b bytes.Buffer
	height := t.Height()
	wall := max(t.Run.Seconds(), 1e-3)
	scale := float64(svgWidth-svgLeft-svgRight) / wall
	x := func(at time.Time) float64 { return svgLeft + at.Sub(t.Run.Start).Seconds()*scale }
	y := func(lane int) int { return svgTop + lane*(svgLane+svgGap) }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, height, svgWidth, height)
	b.WriteString("<style>")
	for _, c := range colours {
		fmt.Fprintf(&b, ".%s{fill:%s}", c.state, c.fill)
	}
	b.WriteString(".bar{stroke:#fff;stroke-width:1}.tail{fill:#000;fill-opacity:0.08;stroke:#999;stroke-dasharray:4 3}</style>\n")
	fmt.Fprintf(&b, `<text class="summary" x="%d" y="16" font-size="13">%d workers · wall %.1f s · encode %.1f s · utilization %.0f%% · idle tail %.1f s</text>`+"\n",
		svgLeft, t.Workers, t.Run.Seconds(), t.Encode.Seconds(), 100*t.Utilization(), t.TailSeconds())
	lx := svgLeft
	for _, c := range colours {
		fmt.Fprintf(&b, `<rect class="legend %s" x="%d" y="24" width="10" height="10"/><text x="%d" y="33">%s</text>`+"\n", c.state, lx, lx+13, c.state)
		lx += 90
	}

	for i, name := range t.Lanes {
		fmt.Fprintf(&b, `<g class="lane" data-lane="%s">`+"\n", esc(name))
		fmt.Fprintf(&b, `<text x="6" y="%d">%s</text>`+"\n", y(i)+15, esc(name))
		for _, bar := range t.Bars {
			if bar.Lane != i {
				continue
			}
			bx := x(bar.Start)
			bw := max(x(bar.End)-bx, 1)
			title := fmt.Sprintf("%s: %.2f s at %.2f s", bar.Label, bar.Seconds(), bar.Start.Sub(t.Run.Start).Seconds())
			if bar.Err != "" {
				title += ": " + bar.Err
			}
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%d" width="%.1f" height="%d"`, bar.State, bx, y(i), bw, svgLane)
			if bar.Segment > 0 {
				fmt.Fprintf(&b, ` data-segment="%d" data-attempt="%d" data-worker="%d"`, bar.Segment, bar.Attempt, bar.Worker)
			}
			fmt.Fprintf(&b, "><title>%s</title></rect>\n", esc(title))
			if bw > 40 && bar.State != StateEncode {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#fff">%s</text>`+"\n", bx+3, y(i)+15, esc(shortLabel(bar)))
			}
		}
		b.WriteString("</g>\n")
	}

	if tail := t.TailSeconds(); tail > 0 && t.Workers > 0 {
		first := y(len(t.Lanes) - t.Workers)
		tx := x(t.Encode.End.Add(-time.Duration(tail * float64(time.Second))))
		fmt.Fprintf(&b, `<rect class="tail" x="%.1f" y="%d" width="%.1f" height="%d"><title>idle tail: %.2f s</title></rect>`+"\n",
			tx, first-2, x(t.Encode.End)-tx, t.Workers*(svgLane+svgGap), tail)
		// Inside the box when it fits, else after it, where the workers'
		// lanes are empty once the encode is over.
		lx, anchor := x(t.Encode.End)-4, "end"
		if x(t.Encode.End)-tx < svgTailLabel && x(t.Encode.End)+svgTailLabel < svgWidth {
			lx, anchor = x(t.Encode.End)+4, "start"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">idle tail %.1f s</text>`+"\n",
			lx, first+t.Workers*(svgLane+svgGap)-10, anchor, tail)
	}

	axis := y(len(t.Lanes)) + 4
	fmt.Fprintf(&b, `<g class="axis"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", svgLeft, axis, svgWidth-svgRight, axis)
	step := tickStep(wall)
	for s := 0.0; s <= wall+1e-9; s += step {
		tx := svgLeft + s*scale
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/><text x="%.1f" y="%d" text-anchor="middle">%gs</text>`+"\n",
			tx, axis, tx, axis+4, tx, axis+16, math.Round(s*100)/100)
	}
	b.WriteString("</g>\n</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// shortLabel is what fits on a bar.
func shortLabel(b Bar) string {
	if b.Segment > 0 {
		if b.Attempt > 1 {
			return fmt.Sprintf("%d (#%d)", b.Segment, b.Attempt)
		}
		return fmt.Sprint(b.Segment)
	}
	return b.Label
}

// tickStep is a round step giving about 10 ticks over wall seconds.
func tickStep(wall float64) float64 {
	raw := wall / 10
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// esc escapes s for XML text and attributes.
func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
