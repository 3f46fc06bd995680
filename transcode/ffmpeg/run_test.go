package ffmpeg_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// script writes an executable shell script standing in for ffmpeg.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ffmpeg")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return path
}

func TestRunEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	r := ffmpeg.Runner{FFmpeg: script(t, "env > "+out), Env: []string{"CHUNKCODE_TEST=1"}}
	require.NoError(t, r.Run(context.Background(), nil, nil))
	env, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(env), "\n"), "CHUNKCODE_TEST=1")
	assert.Contains(t, string(env), "PATH=", "the process environment is kept")
}

func TestWithHugePages(t *testing.T) {
	t.Run("adds the tunable", func(t *testing.T) {
		t.Setenv("GLIBC_TUNABLES", "")
		os.Unsetenv("GLIBC_TUNABLES")
		base := ffmpeg.Runner{Env: []string{"A=1"}}
		r := base.WithHugePages()
		assert.Equal(t, []string{"A=1", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"}, r.Env)
		assert.Equal(t, []string{"A=1"}, base.Env, "the original runner is unchanged")
	})
	t.Run("leaves the user's tunables alone", func(t *testing.T) {
		t.Setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")
		assert.Empty(t, ffmpeg.Runner{}.WithHugePages().Env)
	})
}

func TestRunExitError(t *testing.T) {
	r := ffmpeg.Runner{FFmpeg: script(t, "echo first >&2; echo 'in.mp4: Invalid data found' >&2; exit 3")}
	err := r.Run(context.Background(), []string{"-i", "in.mp4"}, nil)
	var ee *ffmpeg.ExitError
	require.True(t, errors.As(err, &ee), "got %v", err)
	assert.Equal(t, 3, ee.Code)
	assert.Equal(t, "first | in.mp4: Invalid data found", ee.Tail(3))
	assert.Contains(t, err.Error(), "ffmpeg exited with status 3: first | in.mp4: Invalid data found")
}

// TestRunCancel checks that a cancelled run interrupts the program with
// SIGINT, as ffmpeg expects to finish cleanly, and returns promptly.
func TestRunCancel(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "signal")
	started := filepath.Join(dir, "started")
	r := ffmpeg.Runner{FFmpeg: script(t, "trap 'echo INT > "+got+"; exit 255' INT; touch "+started+"; while :; do sleep 0.05; done")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, nil, nil) }()
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 10*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(ffmpeg.WaitDelay + 5*time.Second):
		t.Fatal("Run did not return after cancel")
	}
	sig, err := os.ReadFile(got)
	require.NoError(t, err, "the program was not sent SIGINT")
	assert.Equal(t, "INT\n", string(sig))
}

func TestNoSpace(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	fixture.RequireFFmpeg(t)
	// Matroska fails only at its trailer, after which ffmpeg 5.1 exits 0;
	// MP4 fails at its header and exits 1. Both are a full disk.
	for _, format := range []string{"matroska", "mp4"} {
		t.Run(format, func(t *testing.T) {
			err := ffmpeg.Runner{}.Run(context.Background(), []string{
				"-f", "lavfi", "-i", "testsrc=duration=0.2:size=64x48", "-c:v", "mpeg4", "-f", format, "-y", "/dev/full"}, nil)
			require.Error(t, err)
			assert.ErrorIs(t, err, ffmpeg.ErrNoSpace)
			assert.Equal(t, "ffmpeg: no space left on device", err.Error())
		})
	}
}

func TestCheckVersion(t *testing.T) {
	probe := script(t, "exit 0")
	tests := []struct {
		banner string
		ok     bool
	}{
		{"ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021", false},
		{"ffmpeg version 5.0.1 Copyright", false},
		{"ffmpeg version 5.1.6-0+deb12u1 Copyright", true},
		{"ffmpeg version n7.1 Copyright", true},
		{"ffmpeg version N-113000-g0123456789 Copyright", true}, // a git build
		{"ffmpeg version 10.0 Copyright", true},
	}
	for _, tt := range tests {
		t.Run(tt.banner, func(t *testing.T) {
			r := ffmpeg.Runner{FFmpeg: script(t, "echo '"+tt.banner+"'"), FFprobe: probe}
			err := r.Check()
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ffmpeg.ErrTooOld)
			assert.Contains(t, err.Error(), "needs 5.1 or newer")
		})
	}
}

func TestTrace(t *testing.T) {
	var got, env [][]string
	prog := script(t, "exit 0")
	r := ffmpeg.Runner{FFmpeg: prog, FFprobe: prog, Env: []string{"A=1"}, Trace: func(e, argv []string) {
		env, got = append(env, e), append(got, argv)
	}}
	require.NoError(t, r.Run(context.Background(), []string{"-i", "in.mp4"}, nil))
	_, err := r.Output(context.Background(), []string{"in.mp4"})
	require.NoError(t, err)
	require.Len(t, got, 2, "one call per program started")
	assert.Equal(t, prog, got[0][0], "the program comes first")
	assert.Equal(t, []string{"-i", "in.mp4"}, got[0][len(got[0])-2:], "then every argument, the runner's own included")
	assert.Contains(t, got[0], "-nostdin")
	assert.Equal(t, "in.mp4", got[1][len(got[1])-1])
	assert.Equal(t, [][]string{{"A=1"}, {"A=1"}}, env, "the variables the runner adds")
}

func TestRunTimed(t *testing.T) {
	fixture.RequireFFmpeg(t)
	var got []float64
	err := ffmpeg.Runner{}.RunTimed(context.Background(), []string{
		"-f", "lavfi", "-i", "sine=duration=3", "-c:a", "pcm_s16le", "-f", "null", "-"}, func(s float64) { got = append(got, s) })
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.InDelta(t, 3.0, got[len(got)-1], 0.1, "the last report is the end of the audio")
	assert.IsNonDecreasing(t, got)
}
