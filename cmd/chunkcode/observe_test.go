package main

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/internal/jaegertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envWithout is the test's environment without the OTEL_* variables, plus
// add.
func envWithout(add ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OTEL_") {
			env = append(env, e)
		}
	}
	return append(env, add...)
}

// chromeTrace is the part of a Chrome trace-event file the tests read.
type chromeTrace struct {
	TraceEvents []struct {
		Name string         `json:"name"`
		Cat  string         `json:"cat"`
		Ph   string         `json:"ph"`
		TS   *float64       `json:"ts"`
		Dur  *float64       `json:"dur"`
		TID  int            `json:"tid"`
		Args map[string]any `json:"args"`
	} `json:"traceEvents"`
}

// svgTimeline is the structure of a --timeline SVG: its lanes and bars.
type svgTimeline struct {
	Lanes []struct {
		Name string `xml:"data-lane,attr"`
		Bars []struct {
			Class   string `xml:"class,attr"`
			Segment string `xml:"data-segment,attr"`
			Attempt string `xml:"data-attempt,attr"`
			Worker  string `xml:"data-worker,attr"`
		} `xml:"rect"`
	} `xml:"g"`
}

// TestJaegerLocal runs `chunkcode transcode` with OTEL_EXPORTER_OTLP_ENDPOINT
// at a real Jaeger, and --trace and --timeline: Jaeger holds one trace for
// the run, with its stages and a span per segment attempt under the encode;
// the trace file has one complete event per span Jaeger holds, and the
// timeline one lane per worker and one bar per attempt.
func TestJaegerLocal(t *testing.T) {
	fixture.RequireFFmpeg(t)
	jaeger := jaegertest.Start(t)
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	out, traceFile, timeline := filepath.Join(dir, "out.mp4"), filepath.Join(dir, "run.json"), filepath.Join(dir, "run.svg")
	service := "chunkcode-local-" + filepath.Base(dir)
	r := chunkcodeEnv(t, envWithout("OTEL_EXPORTER_OTLP_ENDPOINT="+jaeger.OTLPEndpoint, "OTEL_SERVICE_NAME="+service),
		append(append([]string{"transcode"}, fast...), "--workers", "2", "--json", "--trace", traceFile, "--timeline", timeline, in, out)...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	sum := decodeOne(t, r.stdout)
	segments := int(sum["segments"].(float64))
	traceID, _ := sum["trace_id"].(string)
	require.NotEmpty(t, traceID, "the summary names the trace")
	assert.Greater(t, sum["utilization"], 0.0)
	assert.GreaterOrEqual(t, sum["tail_seconds"], 0.0)

	// run, 7 stages, an attempt per segment
	want := 1 + 7 + segments
	traces := jaeger.WaitSpans(t, service, want)
	require.Len(t, traces, 1, "one trace per run")
	tr := traces[0]
	assert.Equal(t, traceID, tr.ID)
	require.Len(t, tr.Spans, want)
	byID := map[string]jaegertest.Span{}
	count := map[string]int{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
		count[s.Name]++
	}
	for _, s := range tr.Spans {
		switch s.Name {
		case "run":
			assert.Empty(t, s.ParentID, "the run is the root")
			assert.Equal(t, "local", s.Tags["chunkcode.backend"])
		case "segment":
			assert.Equal(t, "encode", byID[s.ParentID].Name)
			assert.Equal(t, float64(1), s.Tags["chunkcode.attempt"])
			assert.Contains(t, []any{float64(1), float64(2)}, s.Tags["chunkcode.worker"])
			assert.Positive(t, s.Tags["chunkcode.frames"])
			assert.Equal(t, "local", s.Tags["chunkcode.backend"])
			assert.False(t, s.Error)
		default:
			assert.Equal(t, "run", byID[s.ParentID].Name, "%s's parent", s.Name)
		}
	}
	for _, stage := range []string{"run", "probe", "plan", "audio", "staging", "encode", "merge", "verify"} {
		assert.Equal(t, 1, count[stage], "%s spans", stage)
	}
	assert.Equal(t, segments, count["segment"])

	t.Run("trace file", func(t *testing.T) {
		b, err := os.ReadFile(traceFile)
		require.NoError(t, err)
		var ct chromeTrace
		require.NoError(t, json.Unmarshal(b, &ct))
		complete := map[string]bool{}
		for _, e := range ct.TraceEvents {
			if e.Ph != "X" {
				assert.Equal(t, "M", e.Ph, "only complete and metadata events")
				continue
			}
			require.NotNil(t, e.TS)
			require.NotNil(t, e.Dur)
			assert.GreaterOrEqual(t, *e.Dur, 0.0)
			assert.Equal(t, traceID, e.Args["trace_id"])
			id, _ := e.Args["span_id"].(string)
			assert.False(t, complete[id], "one event per span")
			complete[id] = true
			if e.Cat == "attempt" {
				assert.Equal(t, e.Args["chunkcode.worker"], float64(e.TID), "an attempt on its worker's track")
			}
		}
		assert.Len(t, complete, len(tr.Spans), "a complete event per span Jaeger holds")
		for id := range byID {
			assert.True(t, complete[id], "span %s has an event", id)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		b, err := os.ReadFile(timeline)
		require.NoError(t, err)
		var tl svgTimeline
		require.NoError(t, xml.Unmarshal(b, &tl))
		workers, bars := 0, 0
		seen := map[string]bool{}
		for _, lane := range tl.Lanes {
			if !strings.HasPrefix(lane.Name, "worker ") {
				continue
			}
			workers++
			for _, bar := range lane.Bars {
				if bar.Segment == "" {
					continue
				}
				bars++
				assert.Equal(t, "worker "+bar.Worker, lane.Name, "a bar on its worker's lane")
				assert.Equal(t, "bar encoding", bar.Class)
				assert.False(t, seen[bar.Segment+"/"+bar.Attempt], "one bar per attempt")
				seen[bar.Segment+"/"+bar.Attempt] = true
			}
		}
		assert.Equal(t, 2, workers, "a lane per worker")
		assert.Equal(t, segments, bars, "a bar per attempt")
	})
}

// TestTracingOffDialsNothing watches OTLP's default port while a run keeps
// its spans for --trace with no OTEL_* variable set, and an endpoint while
// a run has it set with OTEL_TRACES_EXPORTER=none: neither sees a
// connection.
func TestTracingOffDialsNothing(t *testing.T) {
	fixture.RequireFFmpeg(t)
	in := fixture.Video(t, fixture.Spec{})
	// watch listens on addr and counts the connections it accepts.
	watch := func(t *testing.T, addr string) (string, *atomic.Int32) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot watch %s, taken: %v", addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		var conns atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns.Add(1)
				c.Close()
			}
		}()
		return ln.Addr().String(), &conns
	}
	for _, tc := range []struct {
		name string
		addr string
		env  func(addr string) []string
	}{
		{"no variable set", "127.0.0.1:4318", func(string) []string { return envWithout() }},
		{"exporter none", "127.0.0.1:0", func(addr string) []string {
			return envWithout("OTEL_EXPORTER_OTLP_ENDPOINT=http://"+addr, "OTEL_TRACES_EXPORTER=none")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, conns := watch(t, tc.addr)
			dir := t.TempDir()
			r := chunkcodeEnv(t, tc.env(addr), append(append([]string{"transcode"}, fast...),
				"--trace", filepath.Join(dir, "t.json"), in, filepath.Join(dir, "out.mp4"))...)
			require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
			time.Sleep(50 * time.Millisecond)
			assert.Zero(t, conns.Load(), "connections to %s", addr)
			assert.FileExists(t, filepath.Join(dir, "t.json"), "spans kept without a collector")
		})
	}
}

// TestObserveUsage: a value --trace, --timeline or --log-format can never
// use is a usage error naming the flag, before any work.
func TestObserveUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4") // never read
	out := filepath.Join(dir, "out.mp4")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-format", "xml"}, `chunkcode: --log-format: "xml" is not a log format; use text or json`},
		{[]string{"--timeline", filepath.Join(dir, "t.png")}, "chunkcode: --timeline: " + filepath.Join(dir, "t.png") + " does not end in .svg; the timeline is an SVG file"},
		{[]string{"--trace", filepath.Join(dir, "none", "t.json")}, "chunkcode: --trace: directory " + filepath.Join(dir, "none") + " does not exist"},
		{[]string{"--trace", dir}, "chunkcode: --trace: " + dir + " is a directory"},
		{[]string{"--trace", in}, "chunkcode: --trace: " + in + " is the INPUT too; give the trace a file of its own"},
		{[]string{"--timeline", dir + "/./out.svg", "--trace", filepath.Join(dir, "out.svg")},
			"chunkcode: --trace: " + filepath.Join(dir, "out.svg") + " is the --timeline too; give the trace a file of its own"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, append(append([]string{"transcode"}, tc.args...), in, out)...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			assert.Equal(t, tc.want, r.stderrLines()[0])
			assert.NoFileExists(t, out)
		})
	}
}

// TestObserveInterrupt interrupts a traced run with --log-format json
// after its first segment: it exits with 130 having exported its spans to
// Jaeger, the run's with an error status, and written --trace; every log
// record carries the trace ID, and a segment's its segment.
func TestObserveInterrupt(t *testing.T) {
	fixture.RequireFFmpeg(t)
	jaeger := jaegertest.Start(t)
	in := fixture.Video(t, fixture.Spec{Duration: 6 * time.Second, Width: 320, Height: 240, Audio: 1})
	dir := t.TempDir()
	traceFile := filepath.Join(dir, "run.json")
	service := "chunkcode-interrupt-" + filepath.Base(dir)
	r := startEnv(t, envWithout("OTEL_EXPORTER_OTLP_ENDPOINT="+jaeger.OTLPEndpoint, "OTEL_SERVICE_NAME="+service),
		"transcode", "--log-format", "json", "--workers", "1", "--segment-duration", "1", "--trace", traceFile, in, filepath.Join(dir, "out.mp4"))
	timeout := time.After(time.Minute)
wait:
	for {
		select {
		case l, ok := <-r.lines:
			require.True(t, ok, "chunkcode ended before a segment was done")
			if strings.Contains(l, `"msg":"segment done"`) {
				break wait
			}
		case <-timeout:
			t.Fatal("no segment done within a minute")
		}
	}
	require.NoError(t, r.cmd.Process.Signal(os.Interrupt))
	code := r.wait(t, 15*time.Second)
	assert.Equal(t, 130, code, "stderr: %s", r.stderr.String())

	lines := strings.Split(strings.TrimSpace(r.stderr.String()), "\n")
	require.Equal(t, "chunkcode: interrupted", lines[len(lines)-1])
	require.GreaterOrEqual(t, len(lines), 2)
	assert.Contains(t, lines[len(lines)-2], `"level":"ERROR","msg":"failed"`)
	assert.Contains(t, lines[len(lines)-2], `"error":"interrupted","exit_code":130`)
	var traceID string
	for _, l := range lines[:len(lines)-1] {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "a JSON record: %s", l)
		id, _ := rec["trace_id"].(string)
		assert.Len(t, id, 32, "trace ID of %s", l)
		if traceID == "" {
			traceID = id
		}
		assert.Equal(t, traceID, id, "one trace")
		if strings.HasPrefix(rec["msg"].(string), "segment") {
			assert.Positive(t, rec["segment"], "segment of %s", l)
		}
	}

	traces := jaeger.WaitSpans(t, service, 4) // run, probe, plan, a segment at least
	require.Len(t, traces, 1)
	assert.Equal(t, traceID, traces[0].ID)
	for _, s := range traces[0].Spans {
		if s.Name == "run" {
			assert.True(t, s.Error, "the interrupted run has an error status")
		}
	}
	b, err := os.ReadFile(traceFile)
	require.NoError(t, err, "--trace is written after an interrupt too")
	var ct chromeTrace
	require.NoError(t, json.Unmarshal(b, &ct))
	assert.NotEmpty(t, ct.TraceEvents)
}

// TestCollectorDown: a collector that refuses connections does not fail
// the run; chunkcode says so once, as a warning, after the summary.
func TestCollectorDown(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	in := fixture.Video(t, fixture.Spec{})
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := chunkcodeEnv(t, envWithout("OTEL_EXPORTER_OTLP_ENDPOINT=http://"+addr),
		append(append([]string{"transcode"}, fast...), in, out)...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.FileExists(t, out)
	lines := r.stderrLines()
	warnings := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "warning: export traces: ") {
			warnings++
			assert.Contains(t, l, addr)
		}
	}
	assert.Equal(t, 1, warnings, "one warning:\n%s", r.stderr)
	assert.True(t, strings.HasPrefix(lines[len(lines)-1], "warning: export traces: "), "after the summary line")
}
