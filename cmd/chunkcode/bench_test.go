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
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
		})
	}
}
