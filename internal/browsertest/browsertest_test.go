package browsertest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
)

// The fixture ladder: 8 s of testsrc2 at 25 fps with a sine tone, three
// rungs, a keyframe every second, 1 s segments.
const (
	fixtureSeconds = "8"
	fixtureRate    = 25
)

var fixtureHeights = []int{144, 180, 240} // lowest first, as the players list them

// ffmpegLadder returns the ffmpeg arguments, before the muxer's, that
// encode the fixture ladder: one decode, split and scaled to three rungs,
// and one AAC track.
func ffmpegLadder() []string {
	return []string{
		"-f", "lavfi", "-i", "testsrc2=size=432x240:rate=25:duration=" + fixtureSeconds,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=" + fixtureSeconds,
		"-filter_complex", "[0:v]split=3[a][b][c];[a]scale=-2:240[v0];[b]scale=-2:180[v1];[c]scale=-2:144[v2]",
		"-map", "[v0]", "-map", "[v1]", "-map", "[v2]", "-map", "1:a",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
		"-b:v:0", "450k", "-b:v:1", "300k", "-b:v:2", "200k",
		"-c:a", "aac", "-b:a", "64k",
	}
}

// hlsLadder writes the fixture ladder as CMAF HLS with ffmpeg's hls muxer
// and returns the directory; the master playlist is master.m3u8.
func hlsLadder(t *testing.T) string {
	t.Helper()
	fixture.RequireFFmpeg(t)
	dir := t.TempDir()
	args := append(ffmpegLadder(),
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-master_pl_name", "master.m3u8",
		"-var_stream_map", "v:0,agroup:aud v:1,agroup:aud v:2,agroup:aud a:0,agroup:aud,default:yes,language:en",
		"-hls_segment_filename", filepath.Join(dir, "v%v", "seg%d.m4s"),
		filepath.Join(dir, "v%v", "index.m3u8"))
	fixture.FFmpeg(t, args...)
	return dir
}

// dashLadder writes the fixture ladder as DASH with ffmpeg's dash muxer
// (SegmentTemplate with a SegmentTimeline) and returns the directory; the
// manifest is manifest.mpd.
func dashLadder(t *testing.T) string {
	t.Helper()
	fixture.RequireFFmpeg(t)
	dir := t.TempDir()
	args := append(ffmpegLadder(),
		"-f", "dash", "-seg_duration", "1", "-use_template", "1", "-use_timeline", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a",
		filepath.Join(dir, "manifest.mpd"))
	fixture.FFmpeg(t, args...)
	return dir
}

// sourceFrames writes every frame of the fixture's source as a PNG in a
// new directory, frame n as n.png.
func sourceFrames(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	fixture.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=432x240:rate=25:duration="+fixtureSeconds,
		"-start_number", "0", filepath.Join(dir, "%d.png"))
	return dir
}

// bestFrame returns the source frame within three of n most like the
// picture in png, and its SSIM.
func bestFrame(t *testing.T, png, frames string, n int) (float64, int) {
	t.Helper()
	best, at := -1.0, -1
	for i := max(0, n-3); i <= n+3; i++ {
		src := filepath.Join(frames, fmt.Sprintf("%d.png", i))
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if s := SSIM(t, png, src); s > best {
			best, at = s, i
		}
	}
	return best, at
}

func TestPlay(t *testing.T) {
	tests := []struct {
		name     string
		ladder   func(*testing.T) string
		manifest string
		// offsetFrames is how many frames late the page's timeline shows
		// the video. ffmpeg 5.1's hls muxer writes positive composition
		// offsets and an edit list that hls.js does not apply, so video
		// is presented x264's two-frame B-frame delay (80 ms) late
		// against audio; its dash muxer writes negative offsets.
		offsetFrames int
	}{
		{"HLS with hls.js", hlsLadder, "master.m3u8", 2},
		{"DASH with dash.js", dashLadder, "manifest.mpd", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Require(t)
			dir := tt.ladder(t)
			r := Play(t, dir, tt.manifest, Options{Screenshots: true})
			frames := sourceFrames(t)
			for _, p := range r.Problems(fixtureRate) {
				t.Error(p)
			}
			var heights []int
			for _, g := range r.Rungs {
				heights = append(heights, g.Height)
				t.Logf("rung %d: %dx%d %d bit/s %s: switched %v, frames %d→%d, shown %dx%d, screenshot at %.3fs",
					g.Index, g.Width, g.Height, g.Bandwidth, g.Codecs, g.Switched, g.FramesBefore, g.FramesAfter, g.ShownWidth, g.ShownHeight, g.ScreenshotTime)
				if g.ShownHeight != g.Height {
					t.Errorf("rung %d: shown %d lines, want %d", g.Index, g.ShownHeight, g.Height)
				}
				if fi, err := os.Stat(g.Screenshot); err != nil || fi.Size() == 0 {
					t.Errorf("rung %d: no screenshot: %v", g.Index, err)
				} else {
					// The paused frame matches a source frame: the one
					// presented at that time, or for hls.js one a fixed
					// offset away (see offsetFrames).
					n := int(math.Round(g.ScreenshotTime * fixtureRate))
					best, at := bestFrame(t, g.Screenshot, frames, n)
					t.Logf("rung %d: screenshot at %.3fs: SSIM %.3f against source frame %d (%+d)", g.Index, g.ScreenshotTime, best, at, at-n)
					if best < 0.9 {
						t.Errorf("rung %d: screenshot SSIM %.3f, want > 0.9", g.Index, best)
					}
					if want := n - tt.offsetFrames; at != want {
						t.Errorf("rung %d: screenshot at %.3fs shows source frame %d, want %d", g.Index, g.ScreenshotTime, at, want)
					}
				}
				if !strings.HasPrefix(g.Codecs, "avc1.64") {
					t.Errorf("rung %d: codecs %q, want High-profile avc1", g.Index, g.Codecs)
				}
			}
			if !slices.Equal(heights, fixtureHeights) {
				t.Errorf("rung heights %v, want %v", heights, fixtureHeights)
			}
			t.Logf("%s: ended %v at %.3fs of %.3fs, %d frames decoded, switch events %v, errors %v",
				r.Kind, r.Ended, r.CurrentTime, r.Duration, r.TotalFrames, r.SwitchEvents, r.Errors)
		})
	}
}

// TestPlayReportsAMissingManifest checks the harness's failure path: a
// manifest that is not there is reported, quickly, as a fatal error and
// an unparsed manifest, not as a pass.
func TestPlayReportsAMissingManifest(t *testing.T) {
	for _, manifest := range []string{"missing.m3u8", "missing.mpd"} {
		t.Run(manifest, func(t *testing.T) {
			Require(t)
			r := Play(t, t.TempDir(), manifest, Options{})
			problems := strings.Join(r.Problems(fixtureRate), "\n")
			for _, want := range []string{"manifest not parsed", "fatal error", "did not reach ended"} {
				if !strings.Contains(problems, want) {
					t.Errorf("problems %q do not mention %q", problems, want)
				}
			}
		})
	}
}

// recorder is a testing.TB that records Skipf and Fatalf instead of ending
// the test, so Require's choice can be checked.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func TestRequireWithoutChromium(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-chromium"))
	tests := []struct {
		ci          string
		skip, fatal bool
	}{
		{"", true, false},
		{"true", false, true},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			Require(r)
			if r.skipped != tt.skip || r.failed != tt.fatal || !strings.Contains(r.msg, "no-chromium") {
				t.Errorf("skipped %v, failed %v, message %q; want skipped %v, failed %v, naming the browser", r.skipped, r.failed, r.msg, tt.skip, tt.fatal)
			}
		})
	}
}
