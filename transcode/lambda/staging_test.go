package lambda

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tenSeconds is a 25 fps source with a keyframe every 2 s and a container
// start of 0.5 s, as ffprobe would describe it.
func tenSeconds() *media.Media {
	v := media.Stream{Index: 0, Type: "video", TimeBase: media.Rational{Num: 1, Den: 12800}}
	m := &media.Media{Path: "in.mp4", Format: "mov,mp4,m4a,3gp,3g2,mj2", Start: 0.5, Streams: []media.Stream{v}}
	m.Video = &m.Streams[0]
	for i := range 250 {
		m.Frames = append(m.Frames, media.Frame{PTS: 6400 + int64(i)*512, Key: i%50 == 0})
	}
	m.FrameEnd = 6400 + 250*512
	return m
}

func TestPlanPieces(t *testing.T) {
	job := func(index, first, frames int) transcode.Job {
		return transcode.Job{Index: index, Frames: frames, SeekMicros: int64(first) * 40_000, TimeScale: 12800}
	}
	t.Run("a piece starts at the keyframe its segment decodes from", func(t *testing.T) {
		pieces := planPieces(tenSeconds(), []transcode.Job{job(0, 0, 75), job(1, 75, 100), job(2, 175, 75)})
		require.Len(t, pieces, 3)
		// Segment 0: frames 0-74 from the start; the piece ends a margin
		// after frame 75 (3 s).
		assert.Equal(t, int64(0), pieces[0].from)
		assert.Equal(t, int64(0), pieces[0].seek)
		assert.Equal(t, int64(4_000_000), pieces[0].to)
		// Segment 1 starts at frame 75 (3 s), between the keyframes at 2 s
		// and 4 s: its piece starts at 2 s and it seeks 1 s into it.
		assert.Equal(t, int64(2_000_000), pieces[1].from)
		assert.Equal(t, int64(1_000_000), pieces[1].seek)
		assert.Equal(t, int64(8_000_000), pieces[1].to)
		// The last segment's piece runs to the end.
		assert.Equal(t, int64(6_000_000), pieces[2].from)
		assert.Equal(t, int64(1_000_000), pieces[2].seek)
		assert.Zero(t, pieces[2].to)
		assert.Equal(t, int64(12800), pieces[2].scale)
	})
	t.Run("the source is staged whole", func(t *testing.T) {
		rotated := tenSeconds()
		rotated.Video.Rotation = 90
		assert.Nil(t, planPieces(rotated, []transcode.Job{job(0, 0, 250)}), "a rotated source")

		ts := job(1, 75, 175)
		ts.PrerollMicros = 1_000_000
		assert.Nil(t, planPieces(tenSeconds(), []transcode.Job{job(0, 0, 75), ts}), "a source seeked by timestamps")

		odd := job(0, 0, 250)
		odd.SeekMicros = 20_000 // no frame starts there
		assert.Nil(t, planPieces(tenSeconds(), []transcode.Job{odd}), "a job that starts on no frame")
	})
}
