package benchmarks

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProjectLadderRun(t *testing.T) {
	t.Parallel()
	four := []segmentCost{{100, 10}, {100, 10}, {100, 10}, {50, 5}}
	for _, tc := range []struct {
		name           string
		fixed, audio   float64
		chunks         []segmentCost
		n              int
		wall, critical float64
	}{
		{"one function runs every chunk in turn", 1, 2, four, 1, 36, 35},
		{"longest first: the short chunk joins the first function free", 1, 2, four, 2, 21, 20},
		{"as many functions as chunks: the longest chunk", 1, 2, four, 4, 11, 10},
		{"more functions than chunks change nothing", 1, 2, four, 100, 11, 10},
		{"audio longer than every chunk is the critical stage", 1, 30, four, 4, 31, 10},
		{"no chunks: fixed and audio", 1, 2, nil, 4, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wall, critical := projectLadderRun(tc.fixed, tc.audio, tc.chunks, tc.n)
			assert.InDelta(t, tc.wall, wall, 1e-9)
			assert.InDelta(t, tc.critical, critical, 1e-9)
		})
	}
}

func TestLadderSpeedups(t *testing.T) {
	t.Parallel()
	runs := []Run{
		{Backend: FFmpegLadder, WallSeconds: 40},
		{Backend: FFmpegPerRung, WallSeconds: 36},
		{Backend: Local, Workers: 2, WallSeconds: 42},
		{Backend: Local, Workers: 1, Error: "boom"},
	}
	ladderSpeedups(runs, map[string]float64{FFmpegLadder: 40, FFmpegPerRung: 36})
	assert.Equal(t, map[string]float64{FFmpegPerRung: 36.0 / 40}, runs[0].SpeedupVs, "a baseline is not compared with itself")
	assert.Equal(t, map[string]float64{FFmpegLadder: 40.0 / 36}, runs[1].SpeedupVs)
	assert.Equal(t, map[string]float64{FFmpegLadder: 40.0 / 42, FFmpegPerRung: 36.0 / 42}, runs[2].SpeedupVs)
	assert.InDelta(t, 40.0/42, runs[2].SpeedupVsFFmpeg, 1e-12, "speedup_vs_ffmpeg is against the one-process ladder")
	assert.Nil(t, runs[3].SpeedupVs, "a failed run has no speed-up")

	// A baseline that failed this round gives no speed-up against it.
	runs = []Run{{Backend: Local, Workers: 2, WallSeconds: 42}}
	ladderSpeedups(runs, map[string]float64{FFmpegPerRung: 36})
	assert.Equal(t, map[string]float64{FFmpegPerRung: 36.0 / 42}, runs[0].SpeedupVs)
	assert.Zero(t, runs[0].SpeedupVsFFmpeg)
}

// syntheticLadderReport is a ladder bench of one 60 s input with two rungs,
// one round, and projections on 2 and 8 functions.
func syntheticLadderReport() *Report {
	m := syntheticMedia()
	rungs := func(ssim float64, b0, b1 int64) []Rung {
		return []Rung{{Height: 720, Width: 1280, MaxrateKbps: 4500, Bytes: b0, SSIM: ssim}, {Height: 360, Width: 640, MaxrateKbps: 1100, Bytes: b1, SSIM: ssim}}
	}
	results := []transcode.Result{{Index: 0, Frames: 750, EncodeSeconds: 30}, {Index: 1, Frames: 750, EncodeSeconds: 30}}
	st := &Stages{Probe: 0.5, Plan: 0.01, Encode: 30, Audio: 2, Merge: 0.2, Verify: 0.3}
	lad := &LadderOptions{SegmentLength: 6e9}
	rep := &Report{
		Machine: Machine{Cores: 2, OS: "linux/amd64", Go: "go1.26", FFmpeg: "ffmpeg version 5.1"},
		Settings: Settings{Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23)}, Runs: 1, Order: orderDoc,
			Ladder: &LadderSettings{Rungs: []int{720, 360}, SegmentLength: 6}},
		Inputs: []InputInfo{{Name: "in.mp4", Path: "in.mp4", Duration: 60, Frames: 1500, media: m, Rungs: rungs(0, 0, 0)}},
		Cases:  []string{FFmpegLadder, FFmpegPerRung, "local ×2"},
		Runs: []Run{
			{Input: "in.mp4", Backend: FFmpegLadder, Workers: 1, Run: 1, WallSeconds: 40, CPUSeconds: 78, Rungs: rungs(0, 1000, 400)},
			{Input: "in.mp4", Backend: FFmpegPerRung, Workers: 1, Run: 1, WallSeconds: 36, CPUSeconds: 70, Rungs: rungs(0.999, 1001, 401)},
			{Input: "in.mp4", Backend: Local, Workers: 2, Run: 1, WallSeconds: 42, CPUSeconds: 80, Rungs: rungs(0.98, 1030, 410),
				Stages: st, results: results},
		},
	}
	ladderSpeedups(rep.Runs, map[string]float64{FFmpegLadder: 40, FFmpegPerRung: 36})
	rep.Results = summarize(rep)
	rep.Projections = project(rep, ProjectOptions{Concurrency: []int{2, 8}}, 0, lad)
	return rep
}

func TestLadderReport(t *testing.T) {
	t.Parallel()
	rep := syntheticLadderReport()

	local, ok := rep.result("in.mp4", "local ×2")
	require.True(t, ok)
	assert.InDelta(t, 40.0/42, local.SpeedupVs[FFmpegLadder].Median, 1e-12)
	assert.InDelta(t, 36.0/42, local.SpeedupVs[FFmpegPerRung].Median, 1e-12)
	assert.Equal(t, []Rung{{Height: 720, Width: 1280, MaxrateKbps: 4500, Bytes: 1030, SSIM: 0.98}, {Height: 360, Width: 640, MaxrateKbps: 1100, Bytes: 410, SSIM: 0.98}}, local.Rungs)

	// The plan for 2 functions has five chunks of 12 s (300 frames at
	// 0.04 s a frame): one function encodes three. On 8, the plan has
	// more, shorter chunks.
	require.Len(t, rep.Projections, 2)
	p2 := rep.Projections[0]
	require.Empty(t, p2.Error)
	assert.Equal(t, 5, p2.Segments)
	assert.InDelta(t, 36, p2.CriticalPath, 1e-9)
	assert.InDelta(t, 0.5+0.01+0.2+0.3+36, p2.WallSeconds, 1e-9)
	assert.InDelta(t, 40/p2.WallSeconds, p2.SpeedupVs[FFmpegLadder], 1e-9)
	assert.InDelta(t, 36/p2.WallSeconds, p2.SpeedupVs[FFmpegPerRung], 1e-9)
	assert.Less(t, rep.Projections[1].CriticalPath, p2.CriticalPath)
	assert.Zero(t, p2.InvocationOverhead, "a ladder projection leaves the invocation out")

	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	out := md.String()
	assert.Contains(t, out, "| Input | ffmpeg-ladder | ffmpeg-per-rung | local ×2 |")
	assert.Contains(t, out, "| in.mp4 | 40.0 ×0.90 vs ffmpeg-per-rung | 36.0 ×1.11 vs ffmpeg-ladder | 42.0 ×0.95 vs ffmpeg-ladder ×0.86 vs ffmpeg-per-rung |")
	assert.Contains(t, out, "| in.mp4 | local ×2 | ×0.95 | ×0.86 | 80.0 | 1.03 |", "speed-ups against each baseline, CPU against the one-process ladder's")
	assert.Contains(t, out, "| in.mp4 | local ×2 | 720p 1280x720 | 1030 | +3.0% | 0.9800 |")
	assert.Contains(t, out, "| in.mp4 | ffmpeg-ladder | 360p 640x360 | 400 | +0.0% | – |", "the reference has no SSIM")
	assert.Contains(t, out, "### Projection of the ladder on parallel functions (projection, not measured)")
	assert.NotContains(t, out, "Lambdas")

	var svg bytes.Buffer
	require.NoError(t, rep.WriteSVG(&svg))
	var root struct{ XMLName xml.Name }
	require.NoError(t, xml.Unmarshal(svg.Bytes(), &root))
	assert.Contains(t, svg.String(), "speed-up vs ffmpeg-ladder 0.95, vs ffmpeg-per-rung 0.86")
	assert.Contains(t, svg.String(), "8 functions")
}
