package benchmarks

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syntheticMedia is a 60-second 25 fps video with a keyframe every second.
func syntheticMedia() *media.Media {
	m := &media.Media{Path: "in.mp4", Format: "mov,mp4,m4a,3gp,3g2,mj2", Size: 50e6,
		Streams: []media.Stream{{Index: 0, Type: "video", Codec: "h264", TimeBase: media.Rational{Num: 1, Den: 25}}}}
	m.Video = &m.Streams[0]
	for i := range 1500 {
		m.Frames = append(m.Frames, media.Frame{PTS: int64(i), Key: i%25 == 0})
	}
	m.FrameEnd = 1500
	return m
}

// syntheticReport is a bench of one input, as Bench leaves it before
// summarising: a plain ffmpeg run and a local run per round, one local run
// failed, Lambda skipped.
func syntheticReport() *Report {
	m := syntheticMedia()
	results := []transcode.Result{ // four 15-second segments, 0.04 s a frame
		{Index: 0, Frames: 375, EncodeSeconds: 15, Bytes: 3e6},
		{Index: 1, Frames: 375, EncodeSeconds: 15, Bytes: 3e6},
		{Index: 2, Frames: 375, EncodeSeconds: 15, Bytes: 3e6},
		{Index: 3, Frames: 375, EncodeSeconds: 15, Bytes: 3e6},
	}
	st := &Stages{Probe: 0.5, Plan: 0.01, Encode: 30, Audio: 2, Merge: 1, Verify: 0.49}
	rep := &Report{
		Machine:  Machine{Cores: 2, OS: "linux/amd64", Go: "go1.26", FFmpeg: "ffmpeg version 5.1"},
		Settings: Settings{Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23)}, Runs: 2, Order: orderDoc},
		Inputs:   []InputInfo{{Name: "in <1>", Path: "in.mp4", Duration: 60, Frames: 1500, Bytes: 50e6, media: m}},
		Cases:    []string{"ffmpeg", "local ×2"},
		Runs: []Run{
			{Input: "in <1>", Backend: FFmpeg, Workers: 1, Run: 1, WallSeconds: 60, SpeedupVsFFmpeg: 1},
			{Input: "in <1>", Backend: Local, Workers: 2, Run: 1, WallSeconds: 40, SpeedupVsFFmpeg: 1.5, Stages: st, results: results},
			{Input: "in <1>", Backend: Local, Workers: 2, Run: 2, Error: "encode segment 3: ffmpeg exited with status 1"},
			{Input: "in <1>", Backend: FFmpeg, Workers: 1, Run: 2, WallSeconds: 62, SpeedupVsFFmpeg: 1},
		},
		Skipped: []Skip{{Backend: Lambda, Reason: "no Lambda backend configured"}},
	}
	rep.Results = summarize(rep)
	return rep
}

func TestProject(t *testing.T) {
	rep := syntheticReport()
	ps := project(rep, ProjectOptions{Concurrency: []int{1, 100}, InvocationOverhead: 500 * time.Millisecond, StagingThroughput: 50e6}, 0, nil)
	require.Len(t, ps, 2)
	for _, p := range ps {
		assert.Equal(t, "projection", p.Kind)
		assert.Empty(t, p.Error)
		assert.Equal(t, "assumed", p.OverheadSource)
		assert.InDelta(t, 1.0, p.Staging, 1e-9, "50 MB at 50 MB/s")
		assert.InDelta(t, 2.0, p.Fixed, 1e-9, "probe, plan, merge and verify")
		assert.InDelta(t, p.Fixed+p.Staging+max(p.Audio, p.CriticalPath), p.WallSeconds, 1e-9)
		assert.InDelta(t, 61/p.WallSeconds, p.SpeedupVsFFmpeg, 1e-9)
	}
	// One Lambda does every frame in turn: 1500 frames at 0.04 s, plus an
	// overhead and a download per segment.
	one := ps[0]
	assert.InDelta(t, 60+float64(one.Segments)*0.5+12e6/50e6, one.CriticalPath, 1e-6)
	// A hundred get the 12 five-second segments of the automatic plan
	// (splitter.MinAuto) at once: the critical path is one of them.
	hundred := ps[1]
	assert.Equal(t, 12, hundred.Segments)
	assert.InDelta(t, 0.5+125*0.04+125*8000/50e6, hundred.CriticalPath, 1e-6)
}

func TestProjectWithoutLocalRun(t *testing.T) {
	rep := syntheticReport()
	rep.Runs = rep.Runs[:1]
	ps := project(rep, ProjectOptions{Concurrency: []int{10}}, 0, nil)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error, "no successful local run")
}

func TestWriteMarkdown(t *testing.T) {
	rep := syntheticReport()
	rep.Projections = project(rep, ProjectOptions{Concurrency: []int{100}}, 0, nil)
	var b bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&b))
	out := b.String()
	assert.Contains(t, out, "| Input | ffmpeg | local ×2 | lambda |", "inputs down, backends across")
	assert.Contains(t, out, "| in <1> | 61.0 (60.0–62.0) | 40.0 ×1.50 (1 failed) | skipped |")
	assert.Contains(t, out, "Projection on parallel Lambdas (projection, not measured)")
	assert.Contains(t, out, "Skipped lambda: no Lambda backend configured")
	assert.Contains(t, out, "- in <1>, local ×2, run 2: encode segment 3")
}

func TestWriteCSV(t *testing.T) {
	rep := syntheticReport()
	rep.Projections = project(rep, ProjectOptions{Concurrency: []int{100}}, 0, nil)
	var b bytes.Buffer
	require.NoError(t, rep.WriteCSV(&b))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err, "every row has as many fields as the header")
	require.Len(t, rows, 1+4+1+1)
	assert.Equal(t, csvHeader, rows[0])
	var status []string
	for _, r := range rows[1:] {
		status = append(status, r[0])
	}
	assert.Equal(t, []string{"ok", "ok", "failed", "ok", "skipped", "projection"}, status)
}

func TestWriteJSONShape(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, syntheticReport().WriteJSON(&b))
	var doc struct {
		Runs []map[string]any `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	require.NotEmpty(t, doc.Runs)
	for _, k := range []string{"backend", "workers", "wall_seconds", "speedup_vs_ffmpeg"} {
		assert.Contains(t, doc.Runs[0], k)
	}
}

func TestWriteSVG(t *testing.T) {
	rep := syntheticReport()
	rep.Projections = project(rep, ProjectOptions{Concurrency: []int{100}}, 0, nil)
	var b bytes.Buffer
	require.NoError(t, rep.WriteSVG(&b))
	// Well-formed XML whose texts name every case, the speed-up and the
	// projection.
	var texts []string
	dec := xml.NewDecoder(&b)
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(el)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	assert.Equal(t, "svg", root)
	all := strings.Join(texts, "\n")
	for _, want := range []string{"in <1>", "ffmpeg", "local ×2", "speed-up 1.50", "skipped: no Lambda backend configured", "100 Lambdas", "(projection)",
		"2 cores, linux/amd64, ffmpeg version 5.1", "baseline: plain ffmpeg, with the environment chunkcode's encoders get"} {
		assert.Contains(t, all, want)
	}
	// "×" names worker counts only, never a speed-up.
	workers := regexp.MustCompile(`local ×\d+`)
	for _, text := range texts {
		assert.NotContains(t, workers.ReplaceAllString(text, ""), "×", "× outside a worker count: %q", text)
	}
}

// svgTexts returns the texts of the chart r draws, one a line.
func svgTexts(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, r.WriteSVG(&b))
	var texts []string
	dec := xml.NewDecoder(&b)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if cd, ok := tok.(xml.CharData); ok {
			if s := strings.TrimSpace(string(cd)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	return strings.Join(texts, "\n")
}

func TestChartLegendNamesWhatItDraws(t *testing.T) {
	rep := syntheticReport()
	rep.Projections = nil
	all := svgTexts(t, rep)
	assert.NotContains(t, all, "dashed", "no projection is drawn")
	assert.Contains(t, all, "whiskers: min–max")

	rep.Settings.Runs = 1
	for i := range rep.Results {
		rep.Results[i].Wall.Min, rep.Results[i].Wall.Max = rep.Results[i].Wall.Median, rep.Results[i].Wall.Median
	}
	all = svgTexts(t, rep)
	assert.NotContains(t, all, "whiskers", "one run draws no whiskers")
	assert.Contains(t, all, "Bars: one run")
}

func TestChartLoadWarning(t *testing.T) {
	rep := syntheticReport()
	rep.Machine.LoadStart, rep.Machine.LoadEnd = 0.1, 2.5
	assert.NotContains(t, svgTexts(t, rep), "warning", "the bench's own load at the end is no warning")
	rep.Machine.LoadStart = 1.2
	all := svgTexts(t, rep)
	assert.Contains(t, all, "load average 1.20 at the start, 2.50 at the end")
	assert.Contains(t, all, "warning: load average 1.20 on 2 cores when the bench started")
	var text bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&text))
	assert.Contains(t, text.String(), "Warning: load average 1.20 on 2 cores")
}

// TestWriteSVGTimeline: the chart draws, under the bars, the timeline of
// the last measured chunkcode run of each case that has spans, a lane per
// worker and a bar per attempt.
func TestWriteSVGTimeline(t *testing.T) {
	rep := syntheticReport()
	t0 := time.Unix(1e9, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	rep.Runs[1].spans = []observe.SpanData{
		{Name: "segment", Kind: observe.KindAttempt, SpanID: "a", Segment: 1, Attempt: 1, Worker: 1, Start: at(1), End: at(20)},
		{Name: "segment", Kind: observe.KindAttempt, SpanID: "b", Segment: 2, Attempt: 1, Worker: 2, Start: at(1), End: at(18)},
		{Name: "encode", Kind: observe.KindStage, Stage: "encode", SpanID: "e", Start: at(1), End: at(20)},
		{Name: "run", Kind: observe.KindRun, SpanID: "r", Start: at(0), End: at(22), Attrs: map[string]any{"chunkcode.workers": int64(2)}},
	}
	var b bytes.Buffer
	require.NoError(t, rep.WriteSVG(&b))
	var chart struct {
		Texts     []string `xml:"text"`
		Timelines []struct {
			SVG struct {
				Lanes []struct {
					Name string `xml:"data-lane,attr"`
					Bars []struct {
						Segment string `xml:"data-segment,attr"`
					} `xml:"rect"`
				} `xml:"g"`
			} `xml:"svg"`
		} `xml:"g"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &chart))
	assert.Contains(t, chart.Texts, "Timeline of in <1>, local ×2, run 1")
	var lanes []string
	bars := 0
	for _, g := range chart.Timelines {
		for _, lane := range g.SVG.Lanes {
			if lane.Name == "" {
				continue // the axis
			}
			lanes = append(lanes, lane.Name)
			for _, bar := range lane.Bars {
				if bar.Segment != "" {
					bars++
				}
			}
		}
	}
	assert.Equal(t, []string{"stages", "worker 1", "worker 2"}, lanes)
	assert.Equal(t, 2, bars)
}
