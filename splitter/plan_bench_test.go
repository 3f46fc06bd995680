package splitter_test

import (
	"fmt"
	"testing"

	"github.com/chunkcode/chunkcode/splitter"
)

// BenchmarkPlan plans a one-hour 30 fps video (108,000 frames) for a
// laptop's pool and for a large Lambda fan-out, with keyframes every two
// seconds and with a single keyframe, where every cut is an exact frame.
func BenchmarkPlan(b *testing.B) {
	for _, gop := range []int{60, 0} {
		m := source{frames: 3600 * 30, rate: 30, ticks: 512, keyEvery: gop}.media()
		for _, workers := range []int{2, 1000} {
			b.Run(fmt.Sprintf("keyEvery=%d/workers=%d", gop, workers), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := splitter.New(m, splitter.Options{Workers: workers}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
