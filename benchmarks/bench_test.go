package benchmarks_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/benchmarks"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fast are the encode settings that keep benches of fixtures short.
var fast = transcode.Profile{Codec: media.H264, Preset: "ultrafast"}

func TestBench(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 2 * time.Second, Audio: 1})
	var order []string
	rep, err := benchmarks.Bench(context.Background(), benchmarks.Config{
		Inputs:  []benchmarks.Input{{Name: "clip", Path: in}},
		Profile: fast, SegmentDuration: 500 * time.Millisecond,
		Backends: []string{benchmarks.FFmpeg, benchmarks.Local, benchmarks.Lambda},
		Workers:  []int{1, 2}, Runs: 2, Warmup: 1, SSIM: true,
		Project: benchmarks.ProjectOptions{Concurrency: []int{10}},
		Notify: func(r benchmarks.Run) {
			if !r.Warmup {
				order = append(order, r.Case())
			}
		},
	})
	require.NoError(t, err)

	assert.Equal(t, []string{"ffmpeg", "local ×1", "local ×2"}, rep.Cases)
	assert.Equal(t, []benchmarks.Skip{{Backend: "lambda", Reason: "no Lambda backend configured"}}, rep.Skipped)
	assert.Equal(t, []string{
		"local ×2", "local ×1", "ffmpeg", // round 1, after the warm-up round, runs in reverse
		"ffmpeg", "local ×1", "local ×2",
	}, order, "cases alternate run by run")
	require.Len(t, rep.Runs, 6)
	for _, r := range rep.Runs {
		t.Run(r.Case()+" run "+string(rune('0'+r.Run)), func(t *testing.T) {
			require.False(t, r.Failed(), r.Error)
			assert.Positive(t, r.WallSeconds)
			assert.Positive(t, r.CPUSeconds, "ffmpeg's CPU time is counted")
			assert.Positive(t, r.SpeedupVsFFmpeg)
			assert.Positive(t, r.OutputBytes)
			assert.Positive(t, r.Realtime)
			if r.Backend == benchmarks.Local {
				assert.Greater(t, r.SSIM, 0.9, "chunked output looks like the plain ffmpeg output")
				require.NotNil(t, r.Stages)
				assert.Positive(t, r.Stages.Encode)
				assert.Equal(t, 4, r.Segments)
			} else {
				assert.Equal(t, 1.0, r.SpeedupVsFFmpeg)
			}
		})
	}
	require.Len(t, rep.Results, 3)
	for _, res := range rep.Results {
		assert.Equal(t, 2, res.Runs)
		assert.LessOrEqual(t, res.Wall.Min, res.Wall.Median)
		assert.LessOrEqual(t, res.Wall.Median, res.Wall.Max)
	}
	require.Len(t, rep.Projections, 1)
	assert.Empty(t, rep.Projections[0].Error)
	assert.Positive(t, rep.Projections[0].WallSeconds)
	assert.Equal(t, "local ×1, run", rep.Projections[0].Basis[:len("local ×1, run")])
}

func TestBenchFailure(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	good := fixture.Video(t, fixture.Spec{Dir: dir, Name: "good.mp4", Duration: time.Second})
	bad := filepath.Join(dir, "bad.mp4")
	fixture.WriteFile(t, bad, "not a video")
	rep, err := benchmarks.Bench(context.Background(), benchmarks.Config{
		Inputs:   []benchmarks.Input{{Path: bad}, {Path: good}},
		Profile:  fast,
		Backends: []string{benchmarks.FFmpeg, benchmarks.Local}, Workers: []int{2}, Runs: 1,
	})
	require.NoError(t, err, "a failing run is reported in the report, not as an error")
	assert.Equal(t, 2, rep.Failures())
	for _, r := range rep.Runs {
		if r.Input == "bad.mp4" {
			assert.Contains(t, r.Error, "not a media file")
		} else {
			assert.False(t, r.Failed(), "the other input's rows still run: %s", r.Error)
		}
	}
	assert.Contains(t, rep.Inputs[0].Error, "bad.mp4")
}

func TestBenchLambdaFactory(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	t.Run("not configured is skipped with the reason", func(t *testing.T) {
		rep, err := benchmarks.Bench(context.Background(), benchmarks.Config{
			Inputs: []benchmarks.Input{{Path: in}}, Profile: fast, Backends: []string{benchmarks.Lambda},
			Lambda: func(context.Context, int) (transcode.Backend, int, error) {
				return nil, 0, errors.New("--function is required")
			},
		})
		require.NoError(t, err)
		assert.Empty(t, rep.Runs)
		assert.Equal(t, []benchmarks.Skip{{Backend: "lambda", Reason: "--function is required"}}, rep.Skipped)
	})
	t.Run("a configured backend runs with usage", func(t *testing.T) {
		rep, err := benchmarks.Bench(context.Background(), benchmarks.Config{
			Inputs: []benchmarks.Input{{Path: in}}, Profile: fast, Runs: 1,
			Backends: []string{benchmarks.FFmpeg, benchmarks.Lambda}, LambdaWorkers: 3,
			Lambda: func(_ context.Context, workers int) (transcode.Backend, int, error) {
				return &billed{Local: transcode.Local{}}, workers, nil
			},
		})
		require.NoError(t, err)
		require.Len(t, rep.Runs, 2)
		l := rep.Runs[1]
		require.False(t, l.Failed(), l.Error)
		assert.Equal(t, "lambda", l.Backend)
		assert.Equal(t, 3, l.Workers)
		require.NotNil(t, l.Usage)
		assert.Equal(t, l.Segments, l.Usage.Invocations)
		assert.InDelta(t, 0.5*float64(l.Segments), l.Usage.GBSeconds, 1e-9, "added up over segments")
		assert.InDelta(t, 0.25*float64(l.Segments), l.Usage.USD, 1e-9)
	})
}

// billed is a local backend that reports a bill per segment, as Lambda
// does.
type billed struct{ transcode.Local }

func (b *billed) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	s, err := b.Local.Start(ctx, src, jobs)
	return billedSession{s}, err
}

type billedSession struct{ transcode.Session }

func (s billedSession) Encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress) (transcode.Result, error) {
	res, err := s.Session.Encode(ctx, job, progress)
	res.Remote = &transcode.RemoteStats{GBSeconds: 0.5, USD: 0.25}
	return res, err
}

func TestBenchCancelled(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	rep, err := benchmarks.Bench(ctx, benchmarks.Config{
		Inputs: []benchmarks.Input{{Path: in}}, Profile: fast, Backends: []string{benchmarks.FFmpeg, benchmarks.Local}, Runs: 3,
		Notify: func(benchmarks.Run) { cancel() },
	})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep, "what was measured is returned")
	assert.Len(t, rep.Runs, 2, "the round that was running finishes its report")
}

func TestGenerateSeed(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	inputs, err := benchmarks.GenerateSeed(context.Background(), ffmpeg.Runner{}, dir, 0.0001)
	require.NoError(t, err)
	require.Len(t, inputs, len(benchmarks.Seed))
	for i, in := range inputs {
		v := benchmarks.Seed[i]
		t.Run(in.Name, func(t *testing.T) {
			assert.True(t, strings.HasPrefix(in.Name, v.Name()), "named like the original table")
			assert.Equal(t, v.Ext, filepath.Ext(in.Path))
			info := fixture.Inspect(t, in.Path)
			video := info.Video(t)
			assert.Equal(t, v.Width, video.Width)
			assert.Equal(t, v.Height, video.Height)
			assert.InDelta(t, benchmarks.MinSeedDuration.Seconds(), float64(info.Format.Duration), 0.1)
			assert.Len(t, info.StreamsOf("audio"), 1)
		})
	}
	// A second call reuses the files.
	fi, err := os.Stat(inputs[0].Path)
	require.NoError(t, err)
	again, err := benchmarks.GenerateSeed(context.Background(), ffmpeg.Runner{}, dir, 0.0001)
	require.NoError(t, err)
	assert.Equal(t, inputs, again)
	fi2, err := os.Stat(inputs[0].Path)
	require.NoError(t, err)
	assert.Equal(t, fi.ModTime(), fi2.ModTime(), "cached, not generated again")
}

// TestBaselineEnv checks that plain ffmpeg runs with the environment
// chunkcode's encoders get unless told otherwise, and that the report says
// which it used. A wrapper in front of the real ffmpeg logs the environment
// of every run.
func TestBaselineEnv(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	if os.Getenv("GLIBC_TUNABLES") != "" {
		t.Skip("GLIBC_TUNABLES is set here, and a set one is left as it is")
	}
	real, err := exec.LookPath("ffmpeg")
	require.NoError(t, err)
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	for _, tc := range []struct{ env, want string }{
		{"", "glibc.malloc.hugetlb=1"},
		{benchmarks.BaselinePlain, "unset"},
	} {
		t.Run("env "+tc.env, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			log := filepath.Join(dir, "env.log")
			wrapper := filepath.Join(dir, "ffmpeg")
			script := "#!/bin/sh\necho \"${GLIBC_TUNABLES:-unset} $*\" >> '" + log + "'\nexec '" + real + "' \"$@\"\n"
			require.NoError(t, os.WriteFile(wrapper, []byte(script), 0o755))
			rep, err := benchmarks.Bench(context.Background(), benchmarks.Config{
				Inputs: []benchmarks.Input{{Path: in}}, Profile: fast,
				Backends: []string{benchmarks.FFmpeg}, Runs: 1, BaselineEnv: tc.env,
				Runner: ffmpeg.Runner{FFmpeg: wrapper},
			})
			require.NoError(t, err)
			require.Len(t, rep.Runs, 1)
			require.False(t, rep.Runs[0].Failed(), rep.Runs[0].Error)
			b, err := os.ReadFile(log)
			require.NoError(t, err)
			var encodes []string // the log has ffmpeg -version too
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if strings.Contains(l, "reference") {
					encodes = append(encodes, strings.Fields(l)[0])
				}
			}
			assert.Equal(t, []string{tc.want}, encodes, "the environment of the one baseline encode")
			wantEnv := tc.env
			if wantEnv == "" {
				wantEnv = benchmarks.BaselineTuned
			}
			assert.Equal(t, wantEnv, rep.Settings.BaselineEnv)
			var md bytes.Buffer
			require.NoError(t, rep.WriteMarkdown(&md))
			assert.Contains(t, md.String(), "Baseline: plain ffmpeg, ")
		})
	}
}

func TestBenchMissingInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	good := fixture.Video(t, fixture.Spec{Dir: dir, Name: "good.mp4", Duration: time.Second})
	missing := filepath.Join(dir, "missing.mp4")
	var runs int
	rep, err := benchmarks.Bench(context.Background(), benchmarks.Config{
		Inputs: []benchmarks.Input{{Path: good}, {Path: missing}}, Profile: fast,
		Backends: []string{benchmarks.FFmpeg}, Runs: 1,
		Notify: func(benchmarks.Run) { runs++ },
	})
	require.Error(t, err)
	assert.Nil(t, rep)
	assert.Equal(t, missing+": no such file or directory", err.Error())
	assert.Zero(t, runs, "nothing ran before the missing input was found")
}
