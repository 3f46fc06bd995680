package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchSmoke runs `chunkcode bench --json` on a tiny clip and checks the
// report's shape, never its timings.
func TestBenchSmoke(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second, Audio: 1})
	chart := filepath.Join(t.TempDir(), "bench.svg")
	r := chunkcode(t, nil, "bench", "--json", "--runs", "1", "--warmup", "0", "--workers", "2",
		"--preset", "ultrafast", "--chart", chart, "--project-concurrency", "10", in)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)

	var rep struct {
		Runs []map[string]any `json:"runs"`
		// Lambda is skipped without its flags, with the reason.
		Skipped []struct {
			Backend string `json:"backend"`
			Reason  string `json:"reason"`
		} `json:"skipped"`
		Projections []map[string]any `json:"projections"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "stdout: %s", r.stdout)
	require.NotEmpty(t, rep.Runs)
	backends := map[string]bool{}
	for _, run := range rep.Runs {
		for _, k := range []string{"backend", "workers", "wall_seconds", "speedup_vs_ffmpeg"} {
			assert.Contains(t, run, k)
		}
		backends[run["backend"].(string)] = true
	}
	assert.True(t, backends["ffmpeg"], "the baseline ran")
	assert.True(t, backends["local"], "the local pool ran")
	if !backends["lambda"] {
		require.Len(t, rep.Skipped, 1)
		assert.Equal(t, "lambda", rep.Skipped[0].Backend)
		assert.NotEmpty(t, rep.Skipped[0].Reason)
	}
	require.Len(t, rep.Projections, 1)
	assert.Equal(t, "projection", rep.Projections[0]["kind"])

	svg, err := os.ReadFile(chart)
	require.NoError(t, err)
	var root struct{ XMLName xml.Name }
	require.NoError(t, xml.Unmarshal(svg, &root))
	assert.Equal(t, "svg", root.XMLName.Local)
	assert.Contains(t, string(svg), `class="timeline"`, "the local pool's run has a timeline")
	assert.Contains(t, string(svg), `data-lane="worker 1"`)
	for _, run := range rep.Runs {
		if run["backend"] == "local" {
			assert.Positive(t, run["utilization"], "a chunkcode run's utilization")
		}
	}
}

// TestBenchLadder runs `chunkcode bench --ladder` on a tiny clip with two
// small rungs and checks that the report has both baselines, bytes and SSIM
// per rung and speed-ups against each baseline, never their values.
func TestBenchLadder(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 2 * time.Second, Width: 320, Height: 180, Audio: 1})
	chart := filepath.Join(t.TempDir(), "ladder.svg")
	r := chunkcode(t, nil, "bench", "--ladder", "180,90", "--segment-length", "1", "--json", "--runs", "1", "--warmup", "0",
		"--workers", "2", "--preset", "ultrafast", "--chart", chart, "--project-concurrency", "4", in)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)

	type rung struct {
		Height int     `json:"height"`
		Bytes  int64   `json:"bytes"`
		SSIM   float64 `json:"ssim"`
	}
	var rep struct {
		Settings struct {
			Ladder struct {
				Rungs         []int   `json:"rungs"`
				SegmentLength float64 `json:"segment_length_seconds"`
			} `json:"ladder"`
		} `json:"settings"`
		Cases []string `json:"cases"`
		Runs  []struct {
			Backend   string             `json:"backend"`
			Workers   int                `json:"workers"`
			SpeedupVs map[string]float64 `json:"speedup_vs"`
			Rungs     []rung             `json:"rungs"`
		} `json:"runs"`
		Results []struct {
			Case      string         `json:"case"`
			SpeedupVs map[string]any `json:"speedup_vs"`
			Rungs     []rung         `json:"rungs"`
		} `json:"results"`
		Skipped     []any `json:"skipped"`
		Projections []struct {
			Concurrency int                `json:"concurrency"`
			WallSeconds float64            `json:"wall_seconds"`
			SpeedupVs   map[string]float64 `json:"speedup_vs"`
		} `json:"projections"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "stdout: %s", r.stdout)
	assert.Equal(t, []int{180, 90}, rep.Settings.Ladder.Rungs)
	assert.Equal(t, 1.0, rep.Settings.Ladder.SegmentLength)
	assert.Equal(t, []string{"ffmpeg-ladder", "ffmpeg-per-rung", "local ×2"}, rep.Cases, "both baselines, then the local ladder")
	assert.Empty(t, rep.Skipped, "no Lambda row without --backends")
	require.Len(t, rep.Runs, 3)
	for _, run := range rep.Runs {
		require.Len(t, run.Rungs, 2, run.Backend)
		for i, g := range run.Rungs {
			assert.Equal(t, []int{180, 90}[i], g.Height)
			assert.Positive(t, g.Bytes, "%s %dp has bytes", run.Backend, g.Height)
			if run.Backend == "ffmpeg-ladder" {
				assert.Zero(t, g.SSIM, "the reference is not compared with itself")
			} else {
				assert.Positive(t, g.SSIM, "%s %dp has an SSIM", run.Backend, g.Height)
			}
		}
		switch run.Backend {
		case "ffmpeg-ladder":
			assert.Contains(t, run.SpeedupVs, "ffmpeg-per-rung")
		case "ffmpeg-per-rung":
			assert.Contains(t, run.SpeedupVs, "ffmpeg-ladder")
		default:
			assert.Equal(t, "local", run.Backend)
			assert.Contains(t, run.SpeedupVs, "ffmpeg-ladder")
			assert.Contains(t, run.SpeedupVs, "ffmpeg-per-rung")
		}
	}
	require.Len(t, rep.Results, 3)
	assert.Len(t, rep.Results[2].SpeedupVs, 2, "the local ladder's speed-up against each baseline")
	assert.Len(t, rep.Results[2].Rungs, 2)
	require.Len(t, rep.Projections, 1)
	assert.Positive(t, rep.Projections[0].WallSeconds)
	assert.Len(t, rep.Projections[0].SpeedupVs, 2)

	svg, err := os.ReadFile(chart)
	require.NoError(t, err)
	assert.Contains(t, string(svg), "vs ffmpeg-per-rung")
}

func TestBenchMarkdownAndFailure(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	good := fixture.Video(t, fixture.Spec{Dir: dir, Name: "good.mp4", Duration: time.Second})
	bad := filepath.Join(dir, "bad.mp4")
	fixture.WriteFile(t, bad, "not a video")
	r := chunkcode(t, nil, "bench", "--runs", "1", "--warmup", "0", "--workers", "2", "--preset", "ultrafast",
		"--backends", "ffmpeg,local", "--quiet", bad, good)
	assert.Equal(t, 1, r.code, "a failed run fails the bench")
	assert.Contains(t, r.stdout, "| Input | ffmpeg | local ×2 |", "the table prints")
	assert.Contains(t, r.stdout, "| bad.mp4 | failed | failed |")
	assert.Regexp(t, `\| good.mp4 \| [0-9.]+ \| [0-9.]+ ×[0-9.]+ \|`, r.stdout, "the other rows still print")
	assert.Equal(t, []string{"chunkcode: 2 of 4 runs failed"}, r.stderrLines())
}

// TestBenchMissingInput checks that an input that is not there fails the
// bench before any run, with one line naming it, and leaves no chart.
func TestBenchMissingInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	good := fixture.Video(t, fixture.Spec{Dir: dir, Name: "good.mp4", Duration: time.Second})
	missing := filepath.Join(dir, "missing.mp4")
	chart := filepath.Join(dir, "chart.svg")
	out := filepath.Join(dir, "out")
	r := chunkcode(t, nil, "bench", "--runs", "1", "--warmup", "0", "--backends", "ffmpeg", "--chart", chart, "--out-dir", out, good, missing)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, []string{"chunkcode: " + missing + ": no such file or directory"}, r.stderrLines())
	assert.Empty(t, r.stdout, "no report")
	assert.NoFileExists(t, chart)
	assert.NoDirExists(t, out, "nothing ran, so nothing was written")
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"no input":          {"bench"},
		"json and csv":      {"bench", "--json", "--csv", "x.mp4"},
		"unknown backend":   {"bench", "--backends", "ffmpeg,gpu", "x.mp4"},
		"unknown profile":   {"bench", "--profile", "imdb"},
		"scale out of seed": {"bench", "--scale", "0.5", "x.mp4"},
		"zero workers":      {"bench", "--workers", "0", "x.mp4"},
		"baseline env":      {"bench", "--baseline-env", "tuned-up", "x.mp4"},
		"ladder on lambda":  {"bench", "--ladder", "auto", "--backends", "ffmpeg,lambda", "x.mp4"},
		"ladder and height": {"bench", "--ladder", "auto", "--height", "720", "x.mp4"},
		"ladder codec":      {"bench", "--ladder", "auto", "--codec", "vp9", "x.mp4"},
		"ladder syntax":     {"bench", "--ladder", "720p", "x.mp4"},
		"segment length":    {"bench", "--segment-length", "2", "x.mp4"},
		"short segments":    {"bench", "--ladder", "auto", "--segment-length", "0.01", "x.mp4"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
		})
	}
	// A ladder's usage error names the flag that does not fit.
	for flag, args := range map[string][]string{
		"--backends":       {"bench", "--ladder", "auto", "--backends", "lambda", "x.mp4"},
		"--height":         {"bench", "--ladder", "auto", "--height", "720", "x.mp4"},
		"--segment-length": {"bench", "--segment-length", "2", "x.mp4"},
		"--ladder":         {"bench", "--ladder", "720p", "x.mp4"},
	} {
		t.Run("names "+flag, func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, args...)
			assert.Equal(t, 2, r.code)
			assert.Contains(t, r.stderr, flag)
		})
	}
}
