package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress renders pipeline events: one aggregate bar of frames on a
// terminal, or one plain line per finished segment otherwise.
type progress struct {
	w        io.Writer
	plain    bool
	bar      *progressbar.ProgressBar
	segments int
	done     int
	frames   int
	start    time.Time
}

func newProgress(w io.Writer, noProgress bool) *progress {
	plain := noProgress
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		plain = true
	}
	return &progress{w: w, plain: plain, start: time.Now()}
}

// event is called by the pipeline, one event at a time.
func (p *progress) event(e transcode.Event) {
	switch e.Kind {
	case transcode.EventPlanned:
		s := e.Summary
		p.segments, p.frames = s.Segments, s.Frames
		if p.plain {
			fmt.Fprintf(p.w, "%s: %s, %.1fs, %s (%d on keyframes), %s on %s\n",
				s.Input, plural(s.Frames, "frame"), s.Duration, plural(s.Segments, "segment"), s.KeyframeCuts, plural(s.Workers, "worker"), s.Backend)
			return
		}
		p.bar = progressbar.NewOptions(s.Frames,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("encoding"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("frames"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
			progressbar.OptionClearOnFinish(),
		)
	case transcode.EventFrames:
		if p.bar != nil {
			p.bar.Add(e.Frames)
		}
	case transcode.EventSegment:
		p.done++
		if !p.plain {
			return
		}
		how := fmt.Sprintf("in %.1fs (%.0f fps)", e.Result.EncodeSeconds, fps(e.Result))
		if e.Resumed {
			how = "reused from the work directory"
		}
		fmt.Fprintf(p.w, "segment %d/%d done: %s %s [%d/%d]\n",
			e.Segment.Index+1, p.segments, plural(e.Segment.Frames, "frame"), how, p.done, p.segments)
	case transcode.EventRetry:
		p.println(fmt.Sprintf("segment %d: retrying after: %s", e.Segment.Index+1, oneLine(e.Err.Error())))
	case transcode.EventWarning:
		p.println("warning: " + oneLine(e.Err.Error()))
	case transcode.EventStage:
		if p.plain && e.Stage != transcode.StageProbe && e.Stage != transcode.StageEncode {
			fmt.Fprintf(p.w, "%s…\n", e.Stage)
		}
		if p.bar != nil && e.Stage == transcode.StageMerge {
			p.bar.Describe("merging")
		}
	}
}

// println writes msg on its own line, above the bar if there is one.
func (p *progress) println(msg string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, msg)
}

func fps(r transcode.Result) float64 {
	if r.EncodeSeconds <= 0 {
		return 0
	}
	return float64(r.Frames) / r.EncodeSeconds
}

// finish ends the bar.
func (p *progress) finish(ok bool) {
	if p.bar != nil {
		if ok {
			p.bar.Finish()
		}
		p.bar.Exit()
		fmt.Fprintln(p.w)
	}
}
