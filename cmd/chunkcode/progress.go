package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// progressOptions are the flags that say how much transcode prints while it
// works.
type progressOptions struct {
	quiet   bool
	verbose bool
}

func (o *progressOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "also print every ffmpeg and ffprobe command line, quoted for a shell")
}

// newProgress returns the progress that renders a transcode's events on
// d.stderr: a line redrawn in place on a terminal, plain lines otherwise
// or with noProgress, nothing with --quiet. With --verbose it has d.runner
// print every command line it runs, so it must be called before anything
// copies d.runner.
func (o *progressOptions) newProgress(d *deps, noProgress bool) (*progress, error) {
	if o.quiet && o.verbose {
		return nil, usagef("--quiet and --verbose cannot be used together")
	}
	p := newProgress(d.stderr, noProgress)
	p.quiet = o.quiet
	if h, err := time.ParseDuration(os.Getenv(envHeartbeat)); err == nil && h > 0 {
		p.heartbeat = h
	}
	if o.verbose {
		d.runner.Trace = func(env, argv []string) { p.println(shellJoin(append(slices.Clip(env), argv...))) }
	}
	return p, nil
}

// Timings of the progress output.
const (
	// redrawEvery is how often the line is redrawn on a terminal, at most.
	redrawEvery = 100 * time.Millisecond
	// tickEvery is how often the line is redrawn without events, to follow
	// the time left and the terminal's width.
	tickEvery = 250 * time.Millisecond
	// heartbeatEvery is how often a plain log gets a status line, unless
	// $CHUNKCODE_HEARTBEAT holds another duration.
	heartbeatEvery = 10 * time.Second
	envHeartbeat   = "CHUNKCODE_HEARTBEAT"
	// rateAfter and rateFrames are how long the encode runs, and how many
	// frames it does, before its rate is shown.
	rateAfter  = 2 * time.Second
	rateFrames = 10
)

// progress renders pipeline events: on a terminal, one status line redrawn
// in place (see status.line); otherwise, or with plain, a line per finished
// segment and stage and a status line every heartbeat. It is safe for
// concurrent use; its ticker runs from the first event until finish.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	width     func() int // the terminal's columns, read at every redraw; nil off a terminal
	plain     bool
	quiet     bool
	heartbeat time.Duration
	tick      time.Duration // 0: no ticker
	now       func() time.Time

	st       status
	drawn    bool      // a status line is on the terminal, without a newline
	lastDraw time.Time // when it was drawn
	lastBeat time.Time // when the last plain status line was printed
	ticker   *time.Ticker
	stop     chan struct{}
	finished bool
}

func newProgress(w io.Writer, noProgress bool) *progress {
	p := &progress{w: w, plain: true, heartbeat: heartbeatEvery, tick: tickEvery, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !noProgress {
		p.plain = false
		p.width = func() int {
			w, _, err := term.GetSize(int(f.Fd()))
			if err != nil || w <= 0 {
				return 80
			}
			return w
		}
	}
	p.st.start = p.now()
	return p
}

// event is called by the pipeline, one event at a time.
func (p *progress) event(e transcode.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	if p.quiet {
		return
	}
	p.startTicker()
	now := p.now()
	force := false
	switch e.Kind {
	case transcode.EventPlanned:
		s := e.Summary
		p.st.total, p.st.segments = s.Frames, s.Segments
		p.st.unit = "segment"
		if len(s.Rungs) > 0 {
			p.st.unit = "chunk"
		}
		if p.plain && len(s.Rungs) > 0 {
			var rungs []string
			for _, r := range s.Rungs {
				rungs = append(rungs, fmt.Sprintf("%dp", r.Height))
			}
			fmt.Fprintf(p.w, "%s: %s, %.1fs, %s (%s), %s of %gs in %s, %s on %s\n",
				s.Input, plural(s.Frames, "frame"), s.Duration, plural(len(s.Rungs), "rung"), strings.Join(rungs, " "),
				plural(s.MediaSegments, "segment"), s.SegmentLength, plural(s.Segments, "chunk"), plural(s.Workers, "worker"), s.Backend)
		} else if p.plain {
			fmt.Fprintf(p.w, "%s: %s, %.1fs, %s (%d on keyframes), %s on %s\n",
				s.Input, plural(s.Frames, "frame"), s.Duration, plural(s.Segments, "segment"), s.KeyframeCuts, plural(s.Workers, "worker"), s.Backend)
		}
		force = true
	case transcode.EventFrames:
		p.st.frames += e.Frames
		if p.st.frames >= p.st.total && p.st.encodeEnd.IsZero() {
			p.st.encodeEnd = now
		}
	case transcode.EventAudio:
		p.st.audio, p.st.audioTotal = e.Seconds, e.Total
	case transcode.EventSegment:
		p.st.done++
		if p.plain {
			how := fmt.Sprintf("in %.1fs (%.0f fps)", e.Result.EncodeSeconds, fps(e.Result))
			if e.Resumed {
				how = "reused from the work directory"
			}
			fmt.Fprintf(p.w, "%s %d/%d done: %s %s [%d/%d, %d%%]\n",
				p.st.unitName(), e.Segment.Index+1, p.st.segments, plural(e.Segment.Frames, "frame"), how, p.st.done, p.st.segments, p.st.percent())
		}
	case transcode.EventRetry:
		p.printlnLocked(fmt.Sprintf("%s %d: retrying after: %s", p.st.unitName(), e.Segment.Index+1, oneLine(e.Err.Error())))
	case transcode.EventWarning:
		p.printlnLocked("warning: " + oneLine(e.Err.Error()))
	case transcode.EventStage:
		p.st.setStage(e.Stage, now)
		if p.plain && (e.Stage == transcode.StageMerge || e.Stage == transcode.StageVerify) {
			fmt.Fprintf(p.w, "%s…\n", e.Stage)
		}
		force = true
	}
	p.redraw(force)
}

// startTicker starts the goroutine that redraws the line, or prints the
// heartbeat, while no events come. p.mu is held.
func (p *progress) startTicker() {
	if p.ticker != nil || p.tick <= 0 {
		return
	}
	p.ticker = time.NewTicker(p.tick)
	p.stop = make(chan struct{})
	go func() {
		for {
			select {
			case <-p.ticker.C:
				p.mu.Lock()
				if !p.finished {
					p.redraw(false)
				}
				p.mu.Unlock()
			case <-p.stop:
				return
			}
		}
	}()
}

// redraw draws the status line on a terminal, unless it was drawn less
// than redrawEvery ago and not force; off a terminal, it prints the status
// line when a heartbeat is due. p.mu is held.
func (p *progress) redraw(force bool) {
	now := p.now()
	if p.plain {
		if p.lastBeat.IsZero() {
			p.lastBeat = now
		}
		// A tick early rather than late: at least every heartbeat.
		if p.heartbeat > 0 && now.Sub(p.lastBeat) >= p.heartbeat-p.tick {
			p.lastBeat = now
			fmt.Fprintln(p.w, p.st.logLine(now))
		}
		return
	}
	if !force && now.Sub(p.lastDraw) < redrawEvery {
		return
	}
	p.lastDraw = now
	fmt.Fprint(p.w, "\r"+p.st.line(p.width(), now)+"\x1b[K")
	p.drawn = true
}

// clear removes the status line from the terminal. p.mu is held.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// println writes msg on a line of its own, above the status line if there
// is one.
func (p *progress) println(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.quiet && !p.finished {
		p.printlnLocked(msg)
	}
}

func (p *progress) printlnLocked(msg string) {
	p.clear()
	fmt.Fprintln(p.w, msg)
	if p.drawn = false; !p.plain && p.st.stage != "" {
		p.redraw(true)
	}
}

func fps(r transcode.Result) float64 {
	if r.EncodeSeconds <= 0 {
		return 0
	}
	return float64(r.Frames) / r.EncodeSeconds
}

// finish ends the output: once the output is in place (ok), the status line
// is drawn at 100% and kept; otherwise it is cleared, so that the error
// that follows starts a clean line.
func (p *progress) finish(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	if p.ticker != nil {
		p.ticker.Stop()
		close(p.stop)
	}
	if ok && p.drawn {
		p.st.finish()
		p.redraw(true)
		fmt.Fprintln(p.w)
		p.drawn = false
	}
	p.clear()
	p.finished = true
}

// status is what a run has done so far, as the events told.
type status struct {
	start      time.Time // of the run
	stage      transcode.Stage
	segments   int
	done       int    // segments
	unit       string // what a segment is called: "segment", or "chunk" for a ladder
	total      int    // frames
	frames     int
	framesAt   int       // frames done when the encode started, by an earlier run
	encodeAt   time.Time // when the encode started
	encodeEnd  time.Time // when the last frame was done
	hasAudio   bool
	audioAt    time.Time // when the audio encode started
	audio      float64   // seconds encoded
	audioTotal float64
	finished   bool // the output is in place
}

// unitName is what the run's segments are called.
func (s *status) unitName() string {
	if s.unit == "" {
		return "segment"
	}
	return s.unit
}

func (s *status) setStage(st transcode.Stage, now time.Time) {
	switch st {
	case transcode.StageAudio:
		s.hasAudio, s.audioAt = true, now
		return // beside the encode, which names the line
	case transcode.StageEncode:
		s.encodeAt, s.framesAt = now, s.frames
	}
	s.stage = st
}

func (s *status) finish() {
	s.finished, s.stage = true, transcode.StageDone
	s.frames, s.audio = s.total, s.audioTotal
}

// fraction is how much of the run is done: the least done of the video
// and the audio, which are encoded side by side.
func (s *status) fraction() float64 {
	if s.finished {
		return 1
	}
	f := 0.0
	if s.total > 0 {
		f = float64(s.frames) / float64(s.total)
	}
	if s.hasAudio {
		f = min(f, s.audioFraction())
	}
	return max(0, min(f, 1))
}

func (s *status) audioFraction() float64 {
	if s.audioTotal <= 0 {
		return 0
	}
	return min(s.audio/s.audioTotal, 1)
}

// percent is fraction in whole percent, 100 only once the output is in
// place.
func (s *status) percent() int {
	pc := int(s.fraction() * 100)
	if !s.finished {
		pc = min(pc, 99)
	}
	return pc
}

func (s *status) videoDone() bool { return s.total > 0 && s.frames >= s.total }
func (s *status) audioDone() bool { return !s.hasAudio || s.audioTotal > 0 && s.audio >= s.audioTotal }

// label names what the run is doing: its stage, or the audio when the
// audio is all that is left to encode.
func (s *status) label() string {
	switch s.stage {
	case transcode.StageMerge, transcode.StageVerify, transcode.StageDone:
	default:
		if s.videoDone() && !s.audioDone() {
			return string(transcode.StageAudio)
		}
	}
	return string(s.stage)
}

// rate is the encode's frames per second since it started, and whether it
// means something yet: rateAfter into the encode, with rateFrames done or
// the video finished.
func (s *status) rate(now time.Time) (float64, bool) {
	if s.encodeAt.IsZero() {
		return 0, false
	}
	end := now
	if !s.encodeEnd.IsZero() && s.encodeEnd.After(s.encodeAt) {
		end = s.encodeEnd
	}
	d := end.Sub(s.encodeAt)
	n := s.frames - s.framesAt
	if d < rateAfter || n <= 0 || n < rateFrames && !s.videoDone() {
		return 0, false
	}
	return float64(n) / d.Seconds(), true
}

// eta is the time left to encode the video and the audio, and whether it
// is known: both rates must mean something, or their part be done.
func (s *status) eta(now time.Time) (time.Duration, bool) {
	if s.finished || s.stage != transcode.StageEncode && s.stage != transcode.StagePrepare {
		return 0, false
	}
	var left time.Duration
	if !s.videoDone() {
		r, ok := s.rate(now)
		if !ok {
			return 0, false
		}
		left = seconds(float64(s.total-s.frames) / r)
	}
	if !s.audioDone() {
		d := now.Sub(s.audioAt)
		if d < rateAfter || s.audio <= 0 {
			return 0, false
		}
		left = max(left, seconds((s.audioTotal-s.audio)/(s.audio/d.Seconds())))
	}
	return left, true
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Parts of the status line after the stage and the percentage, in the
// order they are shown.
const (
	partBar = iota
	partCounts
	partRate
	partETA
	partAudio
	numParts
)

// dropOrder is the order parts are dropped in when the terminal is too
// narrow for all of them: the bar goes first, then the audio's percentage
// (the stage and the percentage count the audio too), the rate, the time
// left and the frame counts. The stage and the percentage stay.
var dropOrder = [numParts]int{partBar, partAudio, partRate, partETA, partCounts}

// Widths of the parts of the status line.
const (
	labelWidth = len("prepare")
	rateWidth  = len("9999 fps")
	etaWidth   = len("ETA 59:59")
	minBar     = len("[==>    ]")
	maxBar     = 50
)

// line renders the status on one line of a terminal width columns wide:
//
//	encode  45% [=====>      ] 135/300   12 fps ETA  0:15 audio  40%
//
// It is never wider than width-3 columns, so that neither the terminal nor
// the "^C" it echoes on Ctrl-C wraps it, which would leave a copy behind.
// Each part has a fixed width for a given terminal, whatever its value, so
// the line does not jitter as it is redrawn: a rate or a time left that
// does not mean anything yet is left blank, and the bar takes what the
// other parts leave, up to maxBar. Parts that do not fit are dropped in
// dropOrder.
func (s *status) line(width int, now time.Time) string {
	var parts [numParts]string
	if s.total > 0 {
		parts[partCounts] = fmt.Sprintf("%*d/%d", len(fmt.Sprint(s.total)), s.frames, s.total)
	}
	parts[partRate] = strings.Repeat(" ", rateWidth)
	if r, ok := s.rate(now); ok {
		parts[partRate] = fmt.Sprintf("%4.0f fps", min(r, 9999))
	}
	parts[partETA] = strings.Repeat(" ", etaWidth)
	if d, ok := s.eta(now); ok {
		parts[partETA] = "ETA " + shortDuration(d)
	}
	if s.hasAudio {
		parts[partAudio] = fmt.Sprintf("audio %3d%%", int(s.audioFraction()*100))
	}
	head := fmt.Sprintf("%-*s %3d%%", labelWidth, s.label(), s.percent())
	avail := width - 1 - len("^C")
	fixed := func() int {
		n := len(head)
		for i, p := range parts {
			if i != partBar && p != "" {
				n += 1 + len(p)
			}
		}
		return n
	}
	bar := true
	for _, d := range dropOrder {
		need := fixed()
		if bar {
			need += 1 + minBar
		}
		if need <= avail {
			break
		}
		if d == partBar {
			bar = false
		} else {
			parts[d] = ""
		}
	}
	if bar {
		parts[partBar] = barOf(s.fraction(), min(maxBar, avail-fixed()-1))
	}
	var b strings.Builder
	b.WriteString(head)
	for _, p := range parts {
		if p != "" {
			b.WriteString(" " + p)
		}
	}
	line := b.String()
	return line[:min(len(line), max(avail, 0))]
}

// barOf draws fraction f as a bar width columns wide, brackets included.
func barOf(f float64, width int) string {
	inner := width - 2
	n := int(f * float64(inner))
	switch {
	case n >= inner:
		return "[" + strings.Repeat("=", inner) + "]"
	case n <= 0:
		return "[" + strings.Repeat(" ", inner) + "]"
	}
	return "[" + strings.Repeat("=", n-1) + ">" + strings.Repeat(" ", inner-n) + "]"
}

// shortDuration formats d in 5 columns: " 0:05", "59:59", then hours and
// minutes, " 1h05", up to "99h59".
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Hour {
		return fmt.Sprintf("%2d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = min(d, 99*time.Hour+59*time.Minute)
	return fmt.Sprintf("%2dh%02d", int(d.Hours()), int(d.Minutes())%60)
}

// logLine is the status as a line of a log: what the run does, how far it
// has got, and the rate and time left once they mean something.
func (s *status) logLine(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s %d%%", strings.TrimSpace(shortDuration(now.Sub(s.start))), s.label(), s.percent())
	if s.total > 0 {
		fmt.Fprintf(&b, ", %d/%d frames", s.frames, s.total)
	}
	if r, ok := s.rate(now); ok {
		fmt.Fprintf(&b, ", %.0f fps", r)
	}
	if d, ok := s.eta(now); ok {
		fmt.Fprintf(&b, ", ETA %s", strings.TrimSpace(shortDuration(d)))
	}
	if s.hasAudio {
		fmt.Fprintf(&b, ", audio %d%%", int(s.audioFraction()*100))
	}
	return b.String()
}
