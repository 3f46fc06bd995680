package observe_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode/observe"
)

// BenchmarkAttempt is what a segment attempt's span with its invocation
// costs: nothing with tracing off (a nil Recorder), and a few microseconds
// with spans kept, against the seconds a segment takes to encode.
func BenchmarkAttempt(b *testing.B) {
	kept, err := observe.New(b.Context(), observe.Options{Keep: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		r    *observe.Recorder
	}{{"off", nil}, {"kept", kept}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, run := bc.r.Run(b.Context(), observe.RunInfo{Workers: 1})
			defer run.End(nil)
			b.ReportAllocs()
			for b.Loop() {
				actx, a := bc.r.Attempt(ctx, observe.Attempt{Segment: 1, Frames: 30, Backend: "local", Number: 1, Worker: 1})
				_, inv := bc.r.Invocation(actx, observe.Invocation{Function: "f"})
				inv.SetReport(observe.Report{RequestID: "r"})
				inv.End(nil)
				a.End(nil)
			}
		})
	}
}
