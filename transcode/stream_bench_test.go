package transcode_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// BenchmarkLadder makes the same two-rung ladder of a 10 s 640x360 source
// three ways: chunkcode (each chunk decoded once and encoded to every rung,
// chunks in parallel), one plain ffmpeg process that splits to one encoder
// per rung, and one plain ffmpeg process per rung, one after another. It
// reports the output's bytes per rung.
func BenchmarkLadder(b *testing.B) {
	fixture.RequireFFmpeg(b)
	in := fixture.Video(b, fixture.Spec{Duration: 10 * time.Second, Width: 640, Height: 360, Audio: 1, BFrames: 2})
	ctx := context.Background()
	src, err := ffmpeg.Runner{}.Probe(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	const length = 2 * time.Second
	rungs := ladder.Auto(640, 360)
	prof := transcode.Profile{Codec: media.H264, Preset: "veryfast", AudioCodec: media.AAC, AudioBitrate: "128k"}
	perRung := func(b *testing.B, bytes int64) {
		b.ReportMetric(float64(bytes)/float64(len(rungs)), "bytes/rung")
	}

	b.Run("chunkcode", func(b *testing.B) {
		var bytes int64
		for b.Loop() {
			out := filepath.Join(b.TempDir(), "ladder", "master.m3u8")
			sum, err := (&transcode.Pipeline{}).Run(ctx, transcode.Request{
				Input: in, Output: out, Profile: prof, Ladder: rungs, SegmentLength: length,
			})
			if err != nil {
				b.Fatal(err)
			}
			bytes = 0
			for _, r := range sum.Rungs {
				bytes += r.Bytes
			}
		}
		perRung(b, bytes)
	})
	b.Run("ffmpeg-one-process", func(b *testing.B) {
		var bytes int64
		for b.Loop() {
			dir := b.TempDir()
			if err := (ffmpeg.Runner{}).Run(ctx, transcode.LadderBaselineArgs(src, rungs, prof, length, dir), nil); err != nil {
				b.Fatal(err)
			}
			bytes = 0
			for i := range rungs {
				bytes += size(b, filepath.Join(dir, fmt.Sprintf("v%d", i)))
			}
		}
		perRung(b, bytes)
	})
	b.Run("ffmpeg-per-rung", func(b *testing.B) {
		var bytes int64
		for b.Loop() {
			bytes = 0
			for _, r := range rungs {
				dir := filepath.Join(b.TempDir(), fmt.Sprintf("%dp", r.Height))
				if err := os.Mkdir(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				if err := (ffmpeg.Runner{}).Run(ctx, transcode.RungBaselineArgs(src, r, prof, length, dir), nil); err != nil {
					b.Fatal(err)
				}
				bytes += size(b, dir)
			}
		}
		perRung(b, bytes)
	})
}

// size is the bytes of the media segments (*.m4s) in dir.
func size(b *testing.B, dir string) int64 {
	matches, err := filepath.Glob(filepath.Join(dir, "*.m4s"))
	if err != nil || len(matches) == 0 {
		b.Fatalf("no segments in %s: %v", dir, err)
	}
	var n int64
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			b.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
