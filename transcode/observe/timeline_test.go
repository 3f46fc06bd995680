package observe_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/transcode/observe"
)

var t0 = time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func iv(a, b float64) observe.Interval { return observe.Interval{Start: at(a), End: at(b)} }

func TestUtilizationAndTail(t *testing.T) {
	for _, tc := range []struct {
		name        string
		busy        []observe.Busy
		workers     int
		encode      observe.Interval
		utilization float64
		tail        float64
	}{
		{"all busy to the end", []observe.Busy{{1, iv(0, 10)}, {2, iv(0, 10)}}, 2, iv(0, 10), 1, 0},
		{"one worker idles early", []observe.Busy{{1, iv(0, 10)}, {2, iv(0, 6)}}, 2, iv(0, 10), 0.8, 4},
		{"several attempts per worker", []observe.Busy{{1, iv(0, 3)}, {1, iv(3, 10)}, {2, iv(0, 4)}, {2, iv(4, 7)}}, 2, iv(0, 10), 0.85, 3},
		{"a worker never used", []observe.Busy{{1, iv(0, 10)}}, 2, iv(0, 10), 0.5, 10},
		{"attempts clipped to the encode", []observe.Busy{{1, iv(-2, 5)}, {2, iv(0, 12)}}, 2, iv(0, 10), 0.75, 5},
		{"no workers", nil, 0, iv(0, 10), 0, 0},
		{"empty encode", []observe.Busy{{1, iv(0, 0)}}, 1, iv(0, 0), 0, 0},
		{"a gap mid-encode is not the tail", []observe.Busy{{1, iv(0, 2)}, {1, iv(5, 10)}}, 1, iv(0, 10), 0.7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := observe.Utilization(tc.busy, tc.workers, tc.encode); math.Abs(got-tc.utilization) > 1e-9 {
				t.Errorf("Utilization = %v, want %v", got, tc.utilization)
			}
			if got := observe.TailSeconds(tc.busy, tc.workers, tc.encode); math.Abs(got-tc.tail) > 1e-9 {
				t.Errorf("TailSeconds = %v, want %v", got, tc.tail)
			}
		})
	}
}

// runSpans is a run of 3 workers: staging, audio, three segments on two
// workers with a failed first attempt, worker 3 idle, then merge and verify.
func runSpans() []observe.SpanData {
	s := func(id, parent string, kind observe.Kind, name string, a, b float64) observe.SpanData {
		return observe.SpanData{Name: name, Kind: kind, TraceID: "t", SpanID: id, ParentID: parent, Start: at(a), End: at(b), Attrs: map[string]any{}}
	}
	stage := func(id, name string, a, b float64) observe.SpanData {
		d := s(id, "run", observe.KindStage, name, a, b)
		d.Stage = name
		return d
	}
	attempt := func(id string, seg, n, worker int, a, b float64, failed bool) observe.SpanData {
		d := s(id, "encode", observe.KindAttempt, observe.NameSegment, a, b)
		d.Segment, d.Attempt, d.Worker, d.Failed = seg, n, worker, failed
		if failed {
			d.Err = "ffmpeg exited with status 1"
		}
		return d
	}
	run := s("run", "", observe.KindRun, observe.NameRun, 0, 14)
	run.Attrs["chunkcode.workers"] = int64(3)
	inv := s("inv", "a1", observe.KindInvocation, observe.NameInvocation, 1.5, 3.9)
	return []observe.SpanData{
		stage("probe", "probe", 0, 0.5), stage("plan", "plan", 0.5, 1),
		stage("audio", "audio", 1, 4), stage("staging", "staging", 1, 1.5),
		stage("encode", "encode", 1.5, 11.5),
		attempt("a1", 1, 1, 1, 1.5, 4, true), inv, attempt("a1b", 1, 2, 1, 4, 11.5, false),
		attempt("a2", 2, 1, 2, 1.5, 6, false), attempt("a3", 3, 1, 2, 6, 9.5, false),
		stage("merge", "merge", 11.5, 13), stage("verify", "verify", 13, 14), run,
	}
}

func TestTimeline(t *testing.T) {
	tl := observe.NewTimeline(runSpans())
	if got, want := strings.Join(tl.Lanes, ","), "stages,audio,staging,worker 1,worker 2,worker 3"; got != want {
		t.Errorf("lanes = %s, want %s", got, want)
	}
	if tl.Encode != iv(1.5, 11.5) {
		t.Errorf("encode = %v", tl.Encode)
	}
	// Busy: 2.5+7.5 + 4.5+3.5 = 18 of 3×10.
	if got := tl.Utilization(); math.Abs(got-0.6) > 1e-9 {
		t.Errorf("utilization = %v, want 0.6", got)
	}
	if got := tl.TailSeconds(); math.Abs(got-10) > 1e-9 {
		t.Errorf("tail = %v, want 10 (worker 3 never started)", got)
	}

	var buf bytes.Buffer
	if err := tl.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, buf.Bytes())
	lanes := map[string][]node{}
	var order []string
	var tails int
	for _, n := range doc.all() {
		if n.XMLName.Local == "rect" && n.class() == "tail" {
			tails++
		}
		if n.XMLName.Local != "g" || n.class() != "lane" {
			continue
		}
		name := n.attr("data-lane")
		order = append(order, name)
		for _, c := range n.Nodes {
			if c.XMLName.Local == "rect" && strings.HasPrefix(c.class(), "bar ") {
				lanes[name] = append(lanes[name], c)
			}
		}
	}
	if got := strings.Join(order, ","); got != strings.Join(tl.Lanes, ",") {
		t.Errorf("SVG lanes = %s, want %s", got, strings.Join(tl.Lanes, ","))
	}
	if tails != 1 {
		t.Errorf("%d idle tail rects, want 1", tails)
	}
	classes := func(lane string) string {
		var s []string
		for _, n := range lanes[lane] {
			s = append(s, strings.TrimPrefix(n.class(), "bar ")+n.attr("data-segment"))
		}
		return strings.Join(s, " ")
	}
	for lane, want := range map[string]string{
		"stages":   "stage stage encode stage stage",
		"audio":    "audio",
		"staging":  "staging",
		"worker 1": "failed1 encoding1",
		"worker 2": "encoding2 encoding3",
		"worker 3": "",
	} {
		if got := classes(lane); got != want {
			t.Errorf("lane %s bars = %q, want %q", lane, got, want)
		}
	}
	if a := lanes["worker 1"][1]; a.attr("data-attempt") != "2" || a.attr("data-worker") != "1" {
		t.Errorf("retry bar = %v", a.Attrs)
	}
}

func TestChromeTrace(t *testing.T) {
	clearEnv(t)
	r, err := observe.New(t.Context(), observe.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	record(t.Context(), r)
	_, audio := r.Stage(t.Context(), "audio")
	audio.End(nil)
	spans := r.Spans()

	var buf bytes.Buffer
	if err := observe.WriteChromeTrace(&buf, spans); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			TS   *float64       `json:"ts"`
			Dur  *float64       `json:"dur"`
			PID  int            `json:"pid"`
			TID  int            `json:"tid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	threads := map[int]string{}
	complete := map[string]int{} // span_id → events
	tid := map[string]int{}      // name → track
	for _, e := range doc.TraceEvents {
		switch e.Ph {
		case "M":
			if e.Name == "thread_name" {
				threads[e.TID] = e.Args["name"].(string)
			}
		case "X":
			if e.TS == nil || e.Dur == nil || *e.TS < 0 || *e.Dur < 0 {
				t.Errorf("event %s has ts %v dur %v", e.Name, e.TS, e.Dur)
			}
			complete[e.Args["span_id"].(string)]++
			tid[e.Name] = e.TID
		default:
			t.Errorf("event %s of phase %q", e.Name, e.Ph)
		}
	}
	for _, s := range spans {
		if complete[s.SpanID] != 1 {
			t.Errorf("span %s has %d complete events, want 1", s.Name, complete[s.SpanID])
		}
	}
	if len(complete) != len(spans) {
		t.Errorf("%d complete events for %d spans", len(complete), len(spans))
	}
	for name, want := range map[string]string{
		"run": "run", "probe": "run", "encode": "run", "audio": "audio",
		"segment 1": "worker 1", "segment 1 (attempt 2)": "worker 1", "invoke": "worker 1",
	} {
		if got := threads[tid[name]]; got != want {
			t.Errorf("%s is on track %q, want %q", name, got, want)
		}
	}
}

// node is an XML element, for checking an SVG's structure.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) class() string { return n.attr("class") }

// all is n and its descendants.
func (n node) all() []node {
	out := []node{n}
	for _, c := range n.Nodes {
		out = append(out, c.all()...)
	}
	return out
}

func parseSVG(t *testing.T, b []byte) node {
	t.Helper()
	var n node
	d := xml.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&n); err != nil {
		t.Fatalf("SVG does not parse: %v", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			t.Fatalf("more after </svg>: %v %v", tok, err)
		}
	}
	if n.XMLName.Local != "svg" {
		t.Fatalf("root is %s", n.XMLName.Local)
	}
	return n
}

// TestTimelineNoStaging: a backend with nothing to stage ends its staging
// span at once, and the timeline draws no empty staging lane for it.
func TestTimelineNoStaging(t *testing.T) {
	spans := runSpans()
	for i, s := range spans {
		if s.Stage == observe.StagePrepare {
			spans[i].End = s.Start.Add(20 * time.Microsecond)
		}
	}
	tl := observe.NewTimeline(spans)
	if got, want := strings.Join(tl.Lanes, ","), "stages,audio,worker 1,worker 2,worker 3"; got != want {
		t.Errorf("lanes = %s, want %s", got, want)
	}
	for _, b := range tl.Bars {
		if b.State == observe.StateStaging {
			t.Errorf("a staging bar on lane %d", b.Lane)
		}
	}
}
