package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fast are the flags that keep end-to-end transcodes of fixtures short.
var fast = []string{"--no-progress", "--preset", "ultrafast", "--segment-duration", "0.5"}

func TestHelp(t *testing.T) {
	t.Parallel()
	// Every command the binary has, found from the command tree itself so
	// new commands are covered without listing them here.
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				walk(sub, append(append([]string{}, path...), sub.Name()))
			}
		}
	}
	root := newRootCommand(newDeps())
	// cobra adds these two when it executes; the binary has them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	walk(root, nil)
	require.GreaterOrEqual(t, len(paths), 5, "root, transcode, probe, version and completion at least")
	for _, path := range paths {
		t.Run(strings.Join(append([]string{"chunkcode"}, path...), " "), func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, append(path, "--help")...)
			assert.Equal(t, 0, r.code, "exit code; stderr: %s", r.stderr)
			assert.Contains(t, r.stdout, "Usage:")
			assert.Contains(t, r.stdout, strings.Join(append([]string{"chunkcode"}, path...), " "))
		})
	}
	t.Run("transcode help lists its flags", func(t *testing.T) {
		t.Parallel()
		r := chunkcode(t, nil, "transcode", "--help")
		for _, f := range []string{"--workers", "--segment-duration", "--codec", "--crf", "--preset", "--height",
			"--audio-codec", "--audio-bitrate", "--backend", "--work-dir", "--resume", "--keep", "--json", "--no-progress"} {
			assert.Contains(t, r.stdout, f)
		}
	})
}

func TestVersion(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	r := chunkcode(t, nil, "version")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^chunkcode \S+ \(go\S+, \w+/\w+\)$`, lines[0])
	assert.Regexp(t, `^ffmpeg version `, lines[1])
	assert.Empty(t, r.stderr)
}

// decodeOne decodes the single JSON object s must consist of.
func decodeOne(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var v map[string]any
	require.NoError(t, dec.Decode(&v), "stdout: %s", s)
	_, err := dec.Token()
	require.ErrorIs(t, err, io.EOF, "stdout holds only the JSON object")
	return v
}

func TestTranscode(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})

	t.Run("json summary", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out.mp4")
		r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--json", in, out)...)
		require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
		s := decodeOne(t, r.stdout)
		assert.Equal(t, in, s["input"])
		assert.Equal(t, out, s["output"])
		assert.GreaterOrEqual(t, s["segments"], 3.0)
		assert.EqualValues(t, 50, s["frames"])
		assert.EqualValues(t, 0, s["retries"])
		assert.Positive(t, s["wall_seconds"])
		assert.Positive(t, s["speed_x_realtime"])
		stages, ok := s["stages"].(map[string]any)
		require.True(t, ok, "stages is an object: %v", s["stages"])
		for _, k := range []string{"probe", "plan", "encode", "audio", "merge"} {
			v, ok := stages[k].(float64)
			if assert.True(t, ok, "stage %s", k) {
				assert.GreaterOrEqual(t, v, 0.0, "stage %s", k)
			}
		}
		assert.Positive(t, stages["encode"])
		assert.Equal(t, 50, fixture.Frames(t, out))
	})

	t.Run("plain progress has one line per segment", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out.mkv")
		r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), in, out)...)
		require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
		assert.Empty(t, r.stdout)
		var segments int
		for _, l := range r.stderrLines() {
			if strings.HasPrefix(l, "segment ") {
				segments++
			}
		}
		assert.GreaterOrEqual(t, segments, 3)
		assert.Contains(t, r.stderr, "50 frames")
		assert.Equal(t, 50, fixture.Frames(t, out))
	})
}

func TestBadInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	good := fixture.Video(t, fixture.Spec{Dir: dir, Name: "good.mp4", Duration: time.Second})
	text := filepath.Join(dir, "text.mp4")
	fixture.WriteFile(t, text, "this is not a video\n")
	mp4 := fixture.Video(t, fixture.Spec{Name: "whole.mp4", Faststart: true, Audio: 1})
	mkv := fixture.Video(t, fixture.Spec{Name: "whole.mkv", Audio: 1})
	audio := fixture.Video(t, fixture.Spec{Dir: dir, Name: "audio.m4a", NoVideo: true, Audio: 1})

	tests := []struct {
		name    string
		args    []string // before INPUT OUTPUT
		in, out string
		names   string // the file the error must name
	}{
		{"missing file", nil, filepath.Join(dir, "missing.mp4"), "out.mp4", "missing.mp4"},
		{"text file named .mp4", nil, text, "out.mp4", "text.mp4"},
		{"truncated faststart mp4", nil, fixture.Truncate(t, mp4, "half.mp4", 0.5), "out.mp4", "half.mp4"},
		{"truncated mkv", nil, fixture.Truncate(t, mkv, "half.mkv", 0.5), "out.mp4", "half.mkv"},
		{"audio only", nil, audio, "out.mp4", "audio.m4a"},
		{"avi output", nil, good, "out.avi", "out.avi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			outDir := t.TempDir()
			out := filepath.Join(outDir, tt.out)
			args := append([]string{"transcode"}, fast...)
			args = append(append(args, tt.args...), tt.in, out)
			r := chunkcode(t, nil, args...)
			assert.Equal(t, 1, r.code, "exit code")
			lines := r.stderrLines()
			if assert.Len(t, lines, 1, "one line on stderr: %q", r.stderr) {
				assert.Contains(t, lines[0], tt.names, "the error names the file")
				assert.True(t, strings.HasPrefix(lines[0], "chunkcode: "), "%q", lines[0])
			}
			for _, bad := range []string{"goroutine", "panic", ".go:"} {
				assert.NotContains(t, r.stderr, bad, "no stack trace")
			}
			assert.Empty(t, r.stdout)
			left, err := os.ReadDir(outDir)
			require.NoError(t, err)
			assert.Empty(t, left, "nothing written beside the output")
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	in := filepath.Join(t.TempDir(), "in.mp4") // never read: usage is checked first
	tests := []struct {
		name string
		args []string
	}{
		{"no arguments to transcode", []string{"transcode"}},
		{"one argument to transcode", []string{"transcode", in}},
		{"three arguments to transcode", []string{"transcode", in, "a.mp4", "b.mp4"}},
		{"no argument to probe", []string{"probe"}},
		{"argument to version", []string{"version", "extra"}},
		{"unknown flag", []string{"transcode", "--bogus", in, "out.mp4"}},
		{"unknown command", []string{"frobnicate"}},
		{"resume without work dir", []string{"transcode", "--resume", in, "out.mp4"}},
		{"negative workers", []string{"transcode", "--workers", "-1", in, "out.mp4"}},
		{"bad segment duration", []string{"transcode", "--segment-duration", "soon", in, "out.mp4"}},
		{"flag value of the wrong type", []string{"transcode", "--crf", "high", in, "out.mp4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, tt.args...)
			assert.Equal(t, 2, r.code, "exit code; stderr: %s", r.stderr)
			lines := r.stderrLines()
			if assert.NotEmpty(t, lines) {
				assert.True(t, strings.HasPrefix(lines[0], "chunkcode: "), "%q", lines[0])
			}
			assert.NotContains(t, r.stderr, "goroutine")
		})
	}
}

func TestInterrupt(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	// Long enough that a signal after the first segment finds work left.
	in := fixture.Video(t, fixture.Spec{Duration: 6 * time.Second, Width: 320, Height: 240, Audio: 1})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tmp := filepath.Join(dir, "tmp") // chunkcode's temporary work directory goes here
			require.NoError(t, os.Mkdir(tmp, 0o755))
			out := filepath.Join(dir, "out.mp4")
			r := start(t, []string{"TMPDIR=" + tmp},
				"transcode", "--no-progress", "--json", "--workers", "1", "--segment-duration", "1", in, out)
			r.waitFor(t, "segment ", 1)
			// Signal while an ffmpeg child runs, and remember it.
			var kids []int
			for deadline := time.Now().Add(10 * time.Second); len(kids) == 0 && time.Now().Before(deadline); {
				kids = children(t, r.cmd.Process.Pid)
				time.Sleep(5 * time.Millisecond)
			}
			require.NotEmpty(t, kids, "no ffmpeg child to interrupt")
			require.NoError(t, r.cmd.Process.Signal(sig))
			code := r.wait(t, 15*time.Second)
			for _, k := range kids {
				assert.False(t, alive(k), "ffmpeg child %d still running", k)
			}
			assert.Equal(t, 130, code, "exit code; stderr: %s", r.stderr.String())
			assert.Contains(t, r.stderr.String(), "chunkcode: interrupted")
			assert.Equal(t, map[string]any{"error": "interrupted", "kind": "interrupted", "exit_code": 130.0},
				decodeOne(t, r.stdout.String()), "--json reports the interrupt on stdout")
			assert.NotContains(t, r.stderr.String(), "goroutine")
			assert.Empty(t, processesMentioning(t, dir, r.cmd.Process.Pid), "processes left running")
			assert.NoFileExists(t, out)
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			assert.Equal(t, []string{"tmp"}, names, "files beside the output")
			left, err = os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "temporary work directory left behind")
		})
	}
}

func TestOutputIsInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	in := fixture.Video(t, fixture.Spec{Dir: dir, Duration: time.Second})
	before, err := os.ReadFile(in)
	require.NoError(t, err)
	link := filepath.Join(dir, "link.mp4")
	require.NoError(t, os.Symlink(in, link))
	for name, out := range map[string]string{"same path": in, "./ spelling": dir + "/./" + filepath.Base(in), "symlink": link} {
		t.Run(name, func(t *testing.T) {
			r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), in, out)...)
			assert.Equal(t, 1, r.code)
			lines := r.stderrLines()
			if assert.Len(t, lines, 1, "stderr: %s", r.stderr) {
				assert.Contains(t, lines[0], "output is the input")
			}
			after, err := os.ReadFile(in)
			require.NoError(t, err)
			assert.Equal(t, before, after, "the input is untouched")
		})
	}
}

func TestResumeAfterKill(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 6 * time.Second, Width: 320, Height: 240, Audio: 1})
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	out := filepath.Join(dir, "out.mp4")
	args := []string{"transcode", "--no-progress", "--workers", "1", "--segment-duration", "1", "--work-dir", work}

	r := start(t, nil, append(args, in, out)...)
	r.waitFor(t, "segment ", 2)
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGKILL))
	assert.Equal(t, -1, r.wait(t, 15*time.Second), "killed by the signal")
	left := processesMentioning(t, work, 0)
	for deadline := time.Now().Add(5 * time.Second); len(left) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		left = processesMentioning(t, work, 0)
	}
	require.Empty(t, left, "ffmpeg children outlive a killed chunkcode")
	assert.NoFileExists(t, out)

	res := chunkcode(t, nil, append(append(args, "--resume", "--json"), in, out)...)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	sum := decodeOne(t, res.stdout)
	assert.GreaterOrEqual(t, sum["resumed_segments"], 2.0, "segments finished before the kill are reused")
	assert.Less(t, sum["resumed_segments"], sum["segments"], "the rest are encoded")
	assert.Contains(t, res.stderr, "reused from the work directory")
	assert.EqualValues(t, 150, sum["frames"])
	const w, h = 160, 120
	fixture.SamePictures(t, fixture.Luma(t, in, w, h), fixture.Luma(t, out, w, h))
}
