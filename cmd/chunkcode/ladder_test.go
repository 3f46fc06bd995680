package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chunkcode/chunkcode/internal/browsertest"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ladder the browser plays: 12 s of testsrc2 at 25 fps with a tone,
// three rungs, 2 s segments.
const (
	ladderSeconds = 12
	ladderRate    = 25
)

// ladderSource writes the browser test's source: x264 with B-frames, so
// that the players' handling of composition offsets is tested too, and
// starting at 1.5 s, as a cut from a longer recording can, so that the
// presentation must start at the first frame whatever its timestamp.
func ladderSource(t *testing.T) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.mp4")
	secs := fmt.Sprint(ladderSeconds)
	fixture.FFmpeg(t,
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=432x240:rate=%d:duration=%s", ladderRate, secs),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+secs,
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-metadata:s:a:0", "language=eng", in)
	late := filepath.Join(t.TempDir(), "late.mp4")
	fixture.FFmpeg(t, "-i", in, "-map", "0", "-c", "copy", "-output_ts_offset", "1.5", late)
	return late
}

// TestLadderPlaysInBrowser makes a ladder with `chunkcode transcode`, both
// HLS and DASH over one set of segments, and plays it in Chromium with
// hls.js and with dash.js: every rung is forced and decodes frames, playback
// reaches the end with no stall and no fatal error, and a paused frame on
// every rung is the source's frame at that time (SSIM above 0.9), not one
// a B-frame delay late. The rungs' rates are generous for their heights:
// testsrc2's fine detail at Apple's rates for 180p measures an SSIM of
// about 0.88, which says more about the rate than about the ladder.
func TestLadderPlaysInBrowser(t *testing.T) {
	browsertest.Require(t)
	fixture.RequireFFmpeg(t)
	in := ladderSource(t)
	root := t.TempDir()
	out := filepath.Join(root, "ladder", "master.m3u8")
	r := chunkcode(t, nil, "transcode", "--json", "--manifests", "hls,dash", "--ladder", "240x900,180x600,144x400",
		"--segment-length", "2", "--preset", "veryfast", in, out)
	require.Equal(t, 0, r.code, r.stderr)
	var sum transcode.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	require.Len(t, sum.Rungs, 3)
	for _, g := range sum.Rungs {
		assert.Equal(t, ladderSeconds*ladderRate, g.Frames, "%dp frames", g.Height)
		assert.Equal(t, ladderSeconds/2, g.Segments, "%dp segments", g.Height)
	}
	dir := filepath.Dir(out)

	frames := t.TempDir()
	// Every frame once: a constant rate output would repeat the first to
	// fill from the audio's earlier start.
	fixture.FFmpeg(t, "-i", in, "-fps_mode", "passthrough", "-start_number", "0", filepath.Join(frames, "%d.png"))
	for _, tc := range []struct{ name, manifest string }{
		{"HLS with hls.js", "master.m3u8"},
		{"DASH with dash.js", transcode.DefaultMPD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := browsertest.Play(t, dir, tc.manifest, browsertest.Options{Screenshots: true})
			for _, p := range res.Problems(ladderRate) {
				t.Error(p)
			}
			var heights []int
			for _, g := range res.Rungs {
				heights = append(heights, g.Height)
				t.Logf("rung %d: %dx%d %d bit/s %s: frames %d→%d, shown %dx%d, screenshot at %.3fs",
					g.Index, g.Width, g.Height, g.Bandwidth, g.Codecs, g.FramesBefore, g.FramesAfter, g.ShownWidth, g.ShownHeight, g.ScreenshotTime)
				if g.ShownHeight != g.Height {
					t.Errorf("rung %d: shown %d lines, want %d", g.Index, g.ShownHeight, g.Height)
				}
				if fi, err := os.Stat(g.Screenshot); err != nil || fi.Size() == 0 {
					t.Errorf("rung %d: no screenshot: %v", g.Index, err)
					continue
				}
				n := int(math.Round(g.ScreenshotTime * ladderRate))
				best, at := bestSourceFrame(t, g.Screenshot, frames, n)
				t.Logf("rung %d: screenshot at %.3fs: SSIM %.3f against source frame %d (%+d)", g.Index, g.ScreenshotTime, best, at, at-n)
				if best < 0.9 {
					t.Errorf("rung %d: screenshot SSIM %.3f, want > 0.9", g.Index, best)
				}
				if at != n {
					t.Errorf("rung %d: screenshot at %.3fs shows source frame %d, want %d", g.Index, g.ScreenshotTime, at, n)
				}
			}
			if !slices.Equal(heights, []int{144, 180, 240}) {
				t.Errorf("rung heights %v, want 144, 180, 240", heights)
			}
			t.Logf("%s: ended %v at %.3fs of %.3fs, %d frames decoded, errors %v", res.Kind, res.Ended, res.CurrentTime, res.Duration, res.TotalFrames, res.Errors)
		})
	}
}

// bestSourceFrame returns the source frame within three of n most like the
// picture in png, and its SSIM.
func bestSourceFrame(t *testing.T, png, frames string, n int) (float64, int) {
	t.Helper()
	best, at := -1.0, -1
	for i := max(0, n-3); i <= n+3; i++ {
		src := filepath.Join(frames, fmt.Sprintf("%d.png", i))
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if s := browsertest.SSIM(t, png, src); s > best {
			best, at = s, i
		}
	}
	return best, at
}

// TestLadderUsage checks the ladder flags' usage errors, which name the
// flag and exit 2 before any work.
func TestLadderUsage(t *testing.T) {
	in := fixture.Video(t, fixture.Spec{})
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"--ladder on a file OUTPUT", []string{"--ladder", "720", in, filepath.Join(dir, "out.mp4")}, "--ladder needs an OUTPUT ending in .m3u8"},
		{"a bad --ladder", []string{"--ladder", "721", in, filepath.Join(dir, "l", "master.m3u8")}, "--ladder: invalid ladder"},
		{"a bad --manifests", []string{"--manifests", "hls,smooth", in, filepath.Join(dir, "l", "master.m3u8")}, `--manifests: "smooth" is neither hls nor dash`},
		{"--manifests without OUTPUT's kind", []string{"--manifests", "dash", in, filepath.Join(dir, "l", "master.m3u8")}, "leaves out the hls"},
		{"a bad --segment-length", []string{"--segment-length", "0", in, filepath.Join(dir, "l", "master.m3u8")}, "--segment-length"},
		{"an upscaling rung", []string{"--ladder", "480", in, filepath.Join(dir, "l", "master.m3u8")}, "--ladder: rung 480p is above"},
		{"--height", []string{"--height", "100", in, filepath.Join(dir, "l", "master.m3u8")}, "--height"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chunkcode(t, nil, append([]string{"transcode"}, tc.args...)...)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			entries, _ := os.ReadDir(dir)
			assert.Empty(t, entries, "nothing written")
		})
	}
}

// TestLadderNoClobber checks that -n keeps an existing manifest, and that a
// ladder written into a directory that holds other files leaves them be.
func TestLadderNoClobber(t *testing.T) {
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	fixture.WriteFile(t, filepath.Join(dir, "notes.txt"), "mine")
	out := filepath.Join(dir, "master.m3u8")
	r := chunkcode(t, nil, "transcode", "-q", "--preset", "ultrafast", "--segment-length", "1", in, out)
	require.Equal(t, 0, r.code, r.stderr)
	b, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(b))
	before, err := os.ReadFile(out)
	require.NoError(t, err)

	r = chunkcode(t, nil, "transcode", "-n", "--preset", "ultrafast", in, out)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--no-clobber")
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	// Again without -n: the ladder is replaced, the other file kept, and
	// no build directory is left beside the output directory.
	r = chunkcode(t, nil, "transcode", "-q", "--preset", "ultrafast", "--segment-length", "1", in, out)
	require.Equal(t, 0, r.code, r.stderr)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, "120p audio0 master.m3u8 notes.txt", strings.Join(names, " "))
	parent, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	for _, e := range parent {
		assert.NotContains(t, e.Name(), ".chunkcode-", "build directory left behind")
	}
}

// TestLadderRelativeOutput: a ladder written to a directory named
// relative to the working directory, as a user types it, is verified and
// moved into place like one named by an absolute path.
func TestLadderRelativeOutput(t *testing.T) {
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	r := chunkcodeIn(t, dir, nil, "transcode", "-q", "--preset", "ultrafast", "--segment-length", "1",
		"--manifests", "hls,dash", in, "out/master.m3u8")
	require.Equal(t, 0, r.code, r.stderr)
	for _, name := range []string{"master.m3u8", "manifest.mpd", "120p/init.mp4", "audio0/init.mp4"} {
		assert.FileExists(t, filepath.Join(dir, "out", filepath.FromSlash(name)))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only out/ is left in the working directory")
}
