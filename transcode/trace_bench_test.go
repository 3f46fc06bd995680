package transcode_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/internal/jaegertest"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/observe"
)

// BenchmarkTracingOverhead runs the same transcode through the whole
// pipeline with tracing off (no Recorder: what a run without OTEL_* or the
// flags does), with spans kept in memory (--trace, --timeline,
// --log-format), exporting over OTLP to a real Jaeger, and off again. Each
// iteration runs them in turn, a different one first each time, so that
// the machine's drift touches them alike. It reports each one's median
// wall time and CPU time of this process (ffmpeg's is the same in all),
// and each one's overhead over the first untraced one, in percent of its
// wall time: as measured on the wall (%wall-) and as the CPU this process
// spends more (%cpu-). off-again measures the noise: its %wall- is what
// the machine's other work makes of no difference at all.
//
//	go test ./transcode -run '^$' -bench TracingOverhead -benchtime 10x
//
// A local run makes 8 spans and one per attempt, a few microseconds each
// (see observe's BenchmarkAttempt), so tracing is far below the noise of
// a multi-second encode on the wall, and %cpu- bounds it. Spans run in
// this process, off the encoders' critical path. CHUNKCODE_BENCH_INPUT
// names another input, such as the reference encode's.
func BenchmarkTracingOverhead(b *testing.B) {
	fixture.RequireFFmpeg(b)
	in := os.Getenv("CHUNKCODE_BENCH_INPUT")
	if in == "" {
		in = fixture.Video(b, fixture.Spec{Duration: 4 * time.Second, Width: 640, Height: 360, Audio: 1})
	}
	jaeger := jaegertest.Start(b)
	kept, err := observe.New(b.Context(), observe.Options{Keep: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv(observe.EnvEndpoint, jaeger.OTLPEndpoint)
	b.Setenv("OTEL_SERVICE_NAME", "chunkcode-bench")
	exporting, err := observe.New(b.Context(), observe.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer exporting.Shutdown(context.Background())

	variants := []struct {
		name  string
		rec   *observe.Recorder
		walls []float64 // seconds, one per round
		cpu   []float64 // seconds of this process's CPU (not ffmpeg's), one per round
	}{{"off", nil, nil, nil}, {"kept", kept, nil, nil}, {"otlp", exporting, nil, nil}, {"off-again", nil, nil, nil}}
	dir := b.TempDir()
	round := 0
	for b.Loop() {
		// A different variant first each round: the first run of a round
		// finds the caches as the last one left them.
		for k := range variants {
			v := &variants[(round+k)%len(variants)]
			p := &transcode.Pipeline{Recorder: v.rec}
			req := transcode.Request{
				Input: in, Output: filepath.Join(dir, "out.mp4"), Workers: 2,
				Profile: transcode.Profile{Preset: "veryfast"}, Retries: transcode.DefaultRetries,
			}
			t, cpu := time.Now(), selfCPU()
			if _, err := p.Run(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			if err := v.rec.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			v.walls = append(v.walls, time.Since(t).Seconds())
			v.cpu = append(v.cpu, selfCPU()-cpu)
		}
		round++
	}
	// Medians: one run slowed by a neighbour on the machine moves a mean.
	// Tracing runs in this process, beside ffmpeg's: the CPU this process
	// spends more with it than without, over the wall time without, bounds
	// what it costs a run much more tightly than the walls do on a busy
	// machine.
	off, offCPU := median(variants[0].walls), median(variants[0].cpu)
	for _, v := range variants {
		m, cpu := median(v.walls), median(v.cpu)
		b.ReportMetric(m, "s/run-"+v.name)
		b.ReportMetric(1000*cpu, "ms-cpu/run-"+v.name)
		if v.name != "off" {
			b.ReportMetric(100*(m-off)/off, "%wall-"+v.name)
			b.ReportMetric(100*(cpu-offCPU)/off, "%cpu-"+v.name)
		}
	}
}

// selfCPU is the user and system time this process has used, without its
// children's.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// median is the median of xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
