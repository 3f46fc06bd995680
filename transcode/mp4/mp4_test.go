package mp4_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

func TestVideoFrames(t *testing.T) {
	fixture.RequireFFmpeg(t)
	dir := t.TempDir()
	plain := fixture.Video(t, fixture.Spec{Name: "plain.mp4", Dir: dir, Duration: time.Second, Rate: 25, Audio: 1})
	fast := fixture.Video(t, fixture.Spec{Name: "fast.mp4", Dir: dir, Duration: time.Second, Rate: 30, Faststart: true})
	for _, tc := range []struct {
		name string
		path string
		want int
	}{
		{"index at the end, with audio", plain, 25},
		{"index at the front", fast, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := mp4.VideoFrames(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want || n != fixture.Frames(t, tc.path) {
				t.Fatalf("VideoFrames = %d, want %d (ffprobe %d)", n, tc.want, fixture.Frames(t, tc.path))
			}
		})
	}
	for _, tc := range []struct {
		name string
		path string
	}{
		{"cut before the index", fixture.Truncate(t, plain, "cut.mp4", 0.5)},
		{"index present, data cut", fixture.Truncate(t, fast, "cut-fast.mp4", 0.8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := mp4.VideoFrames(tc.path); !errors.Is(err, mp4.ErrInvalid) {
				t.Fatalf("VideoFrames error = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("audio only", func(t *testing.T) {
		p := filepath.Join(dir, "a.m4a")
		fixture.FFmpeg(t, "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", p)
		if _, err := mp4.VideoFrames(p); !errors.Is(err, mp4.ErrInvalid) {
			t.Fatalf("VideoFrames error = %v, want ErrInvalid", err)
		}
	})
}
