package benchmarks

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/template"

	"github.com/chunkcode/chunkcode/transcode/observe"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 900
	labelWidth  = 150 // case names left of the bars
	barsWidth   = 520
	barHeight   = 18
	rowHeight   = 24
	titleHeight = 26
	panelGap    = 14
	chartTop    = 100
)

// Colours of the bars by backend; projections are drawn as outlines.
var barColours = map[string]string{FFmpeg: "#8c8c8c", FFmpegLadder: "#8c8c8c", FFmpegPerRung: "#b5b5b5", Local: "#4c78a8", Lambda: "#f58518"}

type chartBar struct {
	Y                float64
	Label            string
	Width            float64 // 0 with Note set: nothing measured
	WhiskerLo        float64
	WhiskerHi        float64
	Fill, Stroke     string
	Dashed           bool
	Value            string
	Note             string // "skipped", "failed"
	TextX, TextY, CY float64
	// Whisker ends and caps in chart coordinates.
	WhiskerLoX, WhiskerHiX, CYLo, CYHi float64
}

type chartPanel struct {
	Title  string
	TitleY float64
	Bars   []chartBar
	AxisY  float64
	Ticks  []chartTick
}

type chartTick struct {
	X, Y, LabelY float64
	Label        string
}

// chartTimeline is the timeline of one chunkcode run, an SVG of its own
// drawn under the bars.
type chartTimeline struct {
	Title  string
	TitleY float64
	Y      float64
	Scale  float64 // of the timeline's SVG, to fit the chart's width
	SVG    string
}

type chartData struct {
	Width, Height int
	Title         string
	Subtitle      string
	Legend        string
	Machine       string
	Warning       string // LoadWarning, drawn in red
	Left, Right   int    // where bars start and the axis ends
	BarHeight     int
	Panels        []chartPanel
	Timelines     []chartTimeline
}

// WriteSVG draws a bar chart of the median wall time of every case on
// every input, one panel per input with its own scale, whiskers from the
// fastest to the slowest run, and each bar labelled with its speed-up over
// plain ffmpeg. Projections, when present, are dashed outlines.
func (r *Report) WriteSVG(w io.Writer) error {
	m := r.Machine
	machine := fmt.Sprintf("%d cores", m.Cores)
	if m.CPU != "" {
		machine += " (" + m.CPU + ")"
	}
	machine += fmt.Sprintf(", %s, %s", m.OS, m.FFmpeg)
	if m.LoadStart > 0 || m.LoadEnd > 0 {
		machine += fmt.Sprintf("; load average %.2f at the start, %.2f at the end", m.LoadStart, m.LoadEnd)
	}
	d := chartData{Width: chartWidth, Left: labelWidth, Right: labelWidth + barsWidth, BarHeight: barHeight,
		Title:    "chunkcode bench: wall time per input (shorter is faster)",
		Subtitle: describeProfile(r.Settings) + "; baseline: " + describeBaseline(r.Settings.BaselineEnv),
		Machine:  machine,
		Warning:  m.LoadWarning(),
	}
	y := float64(chartTop)
	for _, in := range r.Inputs {
		p := chartPanel{Title: in.Name, TitleY: y + 16}
		y += titleHeight
		scale := r.panelScale(in.Name)
		bar := func(label string) *chartBar {
			p.Bars = append(p.Bars, chartBar{Y: y, Label: label, CY: y + barHeight/2, TextY: y + barHeight/2 + 4})
			y += rowHeight
			return &p.Bars[len(p.Bars)-1]
		}
		for _, c := range r.Cases {
			res, ok := r.result(in.Name, c)
			b := bar(c)
			switch {
			case !ok:
				b.Note = "not run"
			case res.Failed == res.Runs:
				b.Note = "failed"
			default:
				b.Fill = barColours[res.Backend]
				b.Width = res.Wall.Median / scale * barsWidth
				b.WhiskerLo, b.WhiskerHi = res.Wall.Min/scale*barsWidth, res.Wall.Max/scale*barsWidth
				b.Value = secs(res.Wall.Median) + " s"
				if res.Backend == FFmpeg || res.Backend == FFmpegLadder {
					b.Value += "  baseline"
				}
				if len(res.SpeedupVs) > 0 {
					var vs []string
					for _, base := range LadderBaselines {
						if v, ok := res.SpeedupVs[base]; ok {
							vs = append(vs, "vs "+base+" "+ratio(v.Median))
						}
					}
					b.Value += "  speed-up " + strings.Join(vs, ", ")
				} else if res.Backend != FFmpeg && res.Speedup.Median > 0 {
					b.Value += "  speed-up " + ratio(res.Speedup.Median)
				}
				if res.Failed > 0 {
					b.Value += fmt.Sprintf("  (%d failed)", res.Failed)
				}
			}
		}
		for _, sk := range r.Skipped {
			bar(sk.Backend).Note = "skipped: " + truncate(oneLine(sk.Reason), 70)
		}
		for _, pr := range r.Projections {
			if pr.Input != in.Name {
				continue
			}
			label := fmt.Sprintf("%d Lambdas", pr.Concurrency)
			if r.Settings.Ladder != nil {
				label = fmt.Sprintf("%d functions", pr.Concurrency)
			}
			b := bar(label)
			if pr.Error != "" {
				b.Note = "projection failed"
				continue
			}
			b.Stroke, b.Dashed = barColours[Lambda], true
			b.Width = pr.WallSeconds / scale * barsWidth
			b.Value = fmt.Sprintf("%s s  speed-up %s  (projection)", secs(pr.WallSeconds), ratio(pr.SpeedupVsFFmpeg))
			if r.Settings.Ladder != nil {
				b.Value = fmt.Sprintf("%s s  speed-up vs %s %s  (projection)", secs(pr.WallSeconds), FFmpegLadder, ratio(pr.SpeedupVsFFmpeg))
			}
		}
		for i := range p.Bars {
			b := &p.Bars[i]
			b.TextX = float64(labelWidth) + math.Max(b.Width, b.WhiskerHi) + 6
			b.WhiskerLoX, b.WhiskerHiX = float64(labelWidth)+b.WhiskerLo, float64(labelWidth)+b.WhiskerHi
			b.CYLo, b.CYHi = b.CY-4, b.CY+4
		}
		p.AxisY = y
		for _, t := range ticks(scale) {
			p.Ticks = append(p.Ticks, chartTick{X: float64(labelWidth) + t/scale*barsWidth, Y: y + 4, LabelY: y + 14, Label: strconv.FormatFloat(t, 'g', 4, 64)})
		}
		y += 14 + panelGap
		d.Panels = append(d.Panels, p)
	}
	d.Legend = r.legend(d.Panels)
	for _, tl := range r.timelines() {
		var svg bytes.Buffer
		if err := tl.timeline.WriteSVG(&svg); err != nil {
			return fmt.Errorf("draw timeline: %w", err)
		}
		scale := math.Min(1, float64(chartWidth)/float64(tl.timeline.Width()))
		d.Timelines = append(d.Timelines, chartTimeline{
			Title: fmt.Sprintf("Timeline of %s, %s, run %d", tl.input, tl.name, tl.run), TitleY: y + 16,
			Y: y + titleHeight, Scale: scale, SVG: svg.String(),
		})
		y += titleHeight + float64(tl.timeline.Height())*scale + panelGap
	}
	d.Height = int(y) + 10
	var buf bytes.Buffer
	if err := chartTemplate.Execute(&buf, d); err != nil {
		return fmt.Errorf("draw chart: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// runTimeline is the timeline of one measured run.
type runTimeline struct {
	input, name string
	run         int
	timeline    *observe.Timeline
}

// timelines are, for each input and chunkcode case, the timeline of its
// last measured run that succeeded with spans: where its time went, lane
// by worker.
func (r *Report) timelines() []runTimeline {
	var out []runTimeline
	for _, in := range r.Inputs {
		for _, c := range r.Cases {
			var last *Run
			for i := range r.Runs {
				run := &r.Runs[i]
				if run.Input == in.Name && run.Case() == c && !run.Failed() && len(run.spans) > 0 {
					last = run
				}
			}
			if last != nil {
				out = append(out, runTimeline{input: in.Name, name: c, run: last.Run, timeline: observe.NewTimeline(last.spans)})
			}
		}
	}
	return out
}

// legend names what the chart draws, and only that: whiskers when some bar
// has them, speed-ups when some bar shows one, and projections when there
// are any.
func (r *Report) legend(panels []chartPanel) string {
	var whiskers, speedups, dashed bool
	for _, p := range panels {
		for _, b := range p.Bars {
			whiskers = whiskers || (b.Note == "" && b.WhiskerHi > b.WhiskerLo)
			speedups = speedups || strings.Contains(b.Value, "speed-up")
			dashed = dashed || b.Dashed
		}
	}
	runs := fmt.Sprintf("median of %d runs", r.Settings.Runs)
	if r.Settings.Runs == 1 {
		runs = "one run"
	}
	parts := []string{"Bars: " + runs}
	if whiskers {
		parts = append(parts, "whiskers: min–max")
	}
	switch {
	case speedups && r.Settings.Ladder != nil:
		parts = append(parts, "speed-up: each baseline's wall time in the same round over the bar's")
	case speedups:
		parts = append(parts, "speed-up: plain ffmpeg's wall time in the same round over the bar's")
	}
	if dashed {
		parts = append(parts, "dashed: projection")
	}
	return strings.Join(parts, "; ")
}

// panelScale is the wall time the full bar width stands for on one input.
func (r *Report) panelScale(input string) float64 {
	top := 0.0
	for _, res := range r.Results {
		if res.Input == input {
			top = math.Max(top, res.Wall.Max)
		}
	}
	for _, p := range r.Projections {
		if p.Input == input {
			top = math.Max(top, p.WallSeconds)
		}
	}
	if top <= 0 {
		return 1
	}
	return niceCeil(top)
}

func (r *Report) result(input, c string) (Result, bool) {
	for _, res := range r.Results {
		if res.Input == input && res.Case == c {
			return res, true
		}
	}
	return Result{}, false
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// ticks returns axis marks from 0 to top, top being a niceCeil value.
func ticks(top float64) []float64 {
	step := top / 5
	if n := top / math.Pow(10, math.Floor(math.Log10(top))); n == 2 {
		step = top / 4
	}
	var out []float64
	for t := 0.0; t <= top*1.0001; t += step {
		out = append(out, t)
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// xmlText escapes s for SVG text and attributes.
func xmlText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

var chartTemplate = template.Must(template.New("chart").Funcs(template.FuncMap{
	"x": xmlText,
	"f": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" font-size="16" font-weight="bold">{{x .Title}}</text>
<text x="12" y="40" fill="#555555">{{x .Subtitle}}</text>
<text x="12" y="56" fill="#555555">{{x .Legend}}</text>
<text x="12" y="72" fill="#555555">{{x .Machine}}</text>
{{- if .Warning}}
<text x="12" y="88" fill="#b00020">{{x .Warning}}</text>
{{- end}}
{{- range .Panels}}
<g>
<text x="12" y="{{f .TitleY}}" font-weight="bold">{{x .Title}}</text>
{{- range .Bars}}
<text x="{{$.Left}}" y="{{f .TextY}}" dx="-8" text-anchor="end">{{x .Label}}</text>
{{- if .Note}}
<text x="{{$.Left}}" y="{{f .TextY}}" dx="6" fill="#b00020">{{x .Note}}</text>
{{- else}}
<rect x="{{$.Left}}" y="{{f .Y}}" width="{{f .Width}}" height="{{$.BarHeight}}" {{if .Dashed}}fill="none" stroke="{{.Stroke}}" stroke-width="1.5" stroke-dasharray="5,3"{{else}}fill="{{.Fill}}"{{end}}/>
{{- if gt .WhiskerHi .WhiskerLo}}
<line x1="{{f .WhiskerLoX}}" y1="{{f .CY}}" x2="{{f .WhiskerHiX}}" y2="{{f .CY}}" stroke="#222222"/>
<line x1="{{f .WhiskerLoX}}" y1="{{f .CYLo}}" x2="{{f .WhiskerLoX}}" y2="{{f .CYHi}}" stroke="#222222"/>
<line x1="{{f .WhiskerHiX}}" y1="{{f .CYLo}}" x2="{{f .WhiskerHiX}}" y2="{{f .CYHi}}" stroke="#222222"/>
{{- end}}
<text x="{{f .TextX}}" y="{{f .TextY}}">{{x .Value}}</text>
{{- end}}
{{- end}}
<line x1="{{$.Left}}" y1="{{f .AxisY}}" x2="{{$.Right}}" y2="{{f .AxisY}}" stroke="#999999"/>
{{- $axis := .AxisY}}
{{- range .Ticks}}
<line x1="{{f .X}}" y1="{{f $axis}}" x2="{{f .X}}" y2="{{f .Y}}" stroke="#999999"/>
<text x="{{f .X}}" y="{{f .LabelY}}" text-anchor="middle" font-size="10" fill="#555555">{{.Label}}s</text>
{{- end}}
</g>
{{- end}}
{{- range .Timelines}}
<text x="12" y="{{f .TitleY}}" font-weight="bold">{{x .Title}}</text>
<g class="timeline" transform="translate(0,{{f .Y}}) scale({{.Scale}})">
{{.SVG}}</g>
{{- end}}
</svg>
`))
