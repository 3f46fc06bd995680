package benchmarks

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/stretchr/testify/assert"
)

func TestStatOf(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want Stat
	}{
		{"empty is zero", nil, Stat{}},
		{"one value", []float64{2}, Stat{2, 2, 2}},
		{"odd count takes the middle", []float64{3, 1, 2}, Stat{2, 1, 3}},
		{"even count averages the middle two", []float64{4, 1, 2, 3}, Stat{2.5, 1, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, statOf(tt.xs))
		})
	}
}

func TestSummarizeCase(t *testing.T) {
	runs := []Run{
		{Input: "a", Backend: Local, Workers: 2, Run: 1, WallSeconds: 10, SpeedupVsFFmpeg: 1.2, SSIM: 0.99, Stages: &Stages{Encode: 8}},
		{Input: "a", Backend: Local, Workers: 2, Run: 2, Error: "boom"},
		{Input: "a", Backend: Local, Workers: 2, Run: 3, WallSeconds: 12, SpeedupVsFFmpeg: 1.0, SSIM: 0.98, Stages: &Stages{Encode: 10}},
	}
	res := summarizeCase(runs)
	assert.Equal(t, "local ×2", res.Case)
	assert.Equal(t, 3, res.Runs)
	assert.Equal(t, 1, res.Failed, "a failed run is counted, not averaged")
	assert.Equal(t, []string{"boom"}, res.Errors)
	assert.Equal(t, Stat{11, 10, 12}, res.Wall)
	assert.Equal(t, Stat{1.1, 1.0, 1.2}, res.Speedup)
	assert.Equal(t, 0.98, res.SSIM, "the worst SSIM is reported")
	assert.Equal(t, 9.0, res.Stages.Encode)
}

func TestMakespan(t *testing.T) {
	seg := func(frames int, secs float64) segmentCost { return segmentCost{frames, secs} }
	tests := []struct {
		name    string
		costs   []segmentCost
		workers int
		want    float64
	}{
		{"one worker adds everything", []segmentCost{seg(3, 3), seg(2, 2), seg(1, 1)}, 1, 6},
		{"more workers than segments is the longest", []segmentCost{seg(3, 3), seg(2, 2), seg(1, 1)}, 100, 3},
		{"longest first, each to the worker free soonest", []segmentCost{seg(1, 1), seg(3, 3), seg(2, 2), seg(2, 2)}, 2, 4},
		{"nothing to do", nil, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, makespan(tt.costs, tt.workers), 1e-9)
		})
	}
}

func TestFrameRates(t *testing.T) {
	// Two measured segments: frames 0-99 at 0.01 s and 1000 B a frame,
	// frames 100-199 at 0.03 s and 3000 B a frame.
	fr := newFrameRates([]transcode.Result{
		{Index: 1, Frames: 100, EncodeSeconds: 3, Bytes: 300_000},
		{Index: 0, Frames: 100, EncodeSeconds: 1, Bytes: 100_000},
	})
	tests := []struct {
		name         string
		first, n     int
		secs, nbytes float64
	}{
		{"inside the first", 10, 50, 0.5, 50_000},
		{"across both", 50, 100, 0.5 + 1.5, 50_000 + 150_000},
		{"past the end costs the last rate", 190, 20, 0.6, 60_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secs, nbytes := fr.over(tt.first, tt.n)
			assert.InDelta(t, tt.secs, secs, 1e-9)
			assert.InDelta(t, tt.nbytes, nbytes, 1e-6)
		})
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0.37: 0.5, 1: 1, 1.2: 2, 3: 5, 7.5: 10, 42: 50, 180: 200} {
		assert.InDelta(t, want, niceCeil(v), 1e-9, "niceCeil(%v)", v)
	}
}
