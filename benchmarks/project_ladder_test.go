package benchmarks_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/benchmarks"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProjectLadder(t *testing.T) {
	// Two rungs. A frame costs 0.01 s to decode, 0.04 s and 0.01 s to
	// encode, and 1000 and 250 bytes, written at 1 MB/s: 0.001 s and
	// 0.00025 s. A per-chunk unit of f frames then costs 0.5 + 0.06125 f
	// seconds; split, the rungs' units cost 0.5 + 0.051 f and
	// 0.5 + 0.02025 f.
	model := func(mode lambda.RungMode, n int) benchmarks.LadderModel {
		return benchmarks.LadderModel{
			Mode: mode, Concurrency: n, Chunks: []int{100, 100, 50},
			Rates: benchmarks.LadderRates{DecodeSecondsPerFrame: 0.01, Rungs: []benchmarks.RungRate{
				{Height: 720, EncodeSecondsPerFrame: 0.04, BytesPerFrame: 1000},
				{Height: 360, EncodeSecondsPerFrame: 0.01, BytesPerFrame: 250},
			}},
			InvocationOverhead: 0.5, Throughput: 1e6,
			Fixed: 1, Audio: 2, Publish: 0.5, MemoryMB: 1024, Arch: lambda.ARM64,
		}
	}
	tests := []struct {
		name        string
		model       benchmarks.LadderModel
		invocations int
		critical    float64
		billed      float64   // the invocations' seconds, each rounded up to the millisecond, summed
		rungBilled  []float64 // per rung
	}{
		{
			// Units 6.625, 6.625, 3.5625: the third goes after a first.
			name: "per chunk on 2", model: model(lambda.RungsPerChunk, 2),
			invocations: 3, critical: 10.1875, billed: 16.813,
			// Billed, the last unit is 3.563 s. A unit's overhead and
			// decode go with each rung's share of its own work, 0.041 :
			// 0.01025 a frame, 4 : 1.
			rungBilled: []float64{13.4504, 3.3626},
		},
		{
			name: "per chunk on 3: one chunk each", model: model(lambda.RungsPerChunk, 3),
			invocations: 3, critical: 6.625, billed: 16.813, rungBilled: []float64{13.4504, 3.3626},
		},
		{
			name: "per chunk on 1000: no more parallel than chunks", model: model(lambda.RungsPerChunk, 1000),
			invocations: 3, critical: 6.625, billed: 16.813, rungBilled: []float64{13.4504, 3.3626},
		},
		{
			// Units 5.6, 5.6, 3.05 (720p) and 2.525, 2.525, 1.5125 (360p),
			// longest first: 5.6 | 5.6, then 3.05 → 8.65 | 5.6, 2.525 →
			// 8.65 | 8.125, 2.525 → 8.65 | 10.65, 1.5125 → 10.1625 | 10.65.
			name: "split on 2", model: model(lambda.RungsSplit, 2),
			invocations: 6, critical: 10.65, billed: 20.813, rungBilled: []float64{14.25, 6.563},
		},
		{
			name: "split on 3", model: model(lambda.RungsSplit, 3),
			invocations: 6, critical: 8.1, billed: 20.813, rungBilled: []float64{14.25, 6.563},
		},
		{
			name: "split on 6: the longest rung of the longest chunk", model: model(lambda.RungsSplit, 6),
			invocations: 6, critical: 5.6, billed: 20.813, rungBilled: []float64{14.25, 6.563},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := benchmarks.ProjectLadder(tt.model)
			require.NoError(t, err)
			assert.Equal(t, "ladder projection", p.Kind)
			assert.Equal(t, tt.model.Mode, p.Mode)
			assert.Equal(t, 3, p.Chunks)
			assert.Equal(t, tt.invocations, p.Invocations)
			assert.InDelta(t, tt.critical, p.CriticalPath, 1e-6, "critical path")
			assert.InDelta(t, 1+max(2, tt.critical)+0.5, p.WallSeconds, 1e-6, "wall = fixed + staging + max(audio, critical path) + publish")
			assert.Equal(t, tt.invocations, p.Cost.Total.Invocations)
			assert.InDelta(t, tt.billed, p.Cost.Total.BilledSeconds, 1e-6, "billed seconds")
			assert.InDelta(t, tt.billed, p.Cost.Total.GBSeconds, 1e-6, "GB-seconds at 1 GB")
			assert.InDelta(t, tt.billed*lambda.PriceGBSecondArm64+float64(tt.invocations)*lambda.PriceRequest, p.Cost.Total.USD, 1e-12, "USD")
			require.Len(t, p.Cost.Rungs, 2)
			for i, want := range tt.rungBilled {
				assert.InDelta(t, want, p.Cost.Rungs[i].BilledSeconds, 1e-6, "billed seconds of rung %d", i)
			}
			assert.Equal(t, []int{720, 360}, []int{p.Cost.Rungs[0].Height, p.Cost.Rungs[1].Height})
		})
	}

	t.Run("an audio encode longer than the video is the critical stage", func(t *testing.T) {
		m := model(lambda.RungsSplit, 6)
		m.Audio = 20
		p, err := benchmarks.ProjectLadder(m)
		require.NoError(t, err)
		assert.InDelta(t, 1+20+0.5, p.WallSeconds, 1e-9)
	})

	for name, change := range map[string]func(*benchmarks.LadderModel){
		"unknown mode":          func(m *benchmarks.LadderModel) { m.Mode = "rung" },
		"no concurrency":        func(m *benchmarks.LadderModel) { m.Concurrency = 0 },
		"no chunk":              func(m *benchmarks.LadderModel) { m.Chunks = nil },
		"no rung":               func(m *benchmarks.LadderModel) { m.Rates.Rungs = nil },
		"a chunk without frame": func(m *benchmarks.LadderModel) { m.Chunks[1] = 0 },
		"no memory":             func(m *benchmarks.LadderModel) { m.MemoryMB = 0 },
		"no throughput":         func(m *benchmarks.LadderModel) { m.Throughput = 0 },
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			m := model(lambda.RungsPerChunk, 2)
			change(&m)
			_, err := benchmarks.ProjectLadder(m)
			assert.ErrorContains(t, err, "project ladder: ")
		})
	}
}
