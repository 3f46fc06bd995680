package transcode_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
)

func TestChunkJobValidate(t *testing.T) {
	valid := func() transcode.ChunkJob {
		return transcode.ChunkJob{
			Job: transcode.Job{Source: "https://example.com/in.mp4", Frames: 300, Profile: transcode.Profile{Codec: media.H264}},
			Rungs: []ladder.Rung{{Height: 720, Width: 1280, MaxrateKbps: 4500, BufsizeKbps: 9000},
				{Height: 360, Width: 640, MaxrateKbps: 365, BufsizeKbps: 730}},
			FirstMedia: 4, KeyFrames: []int{0, 150}, Starts: []int64{720000, 900000},
			TimeBase: media.Rational{Num: 1, Den: 90000},
		}
	}
	j := valid()
	assert.NoError(t, j.Validate())
	for _, tc := range []struct {
		name  string
		edit  func(*transcode.ChunkJob)
		error string
	}{
		{"the job's own checks", func(j *transcode.ChunkJob) { j.Frames = 0 }, "frames 0 out of range"},
		{"no rung", func(j *transcode.ChunkJob) { j.Rungs = nil }, "0 rungs"},
		{"an odd width", func(j *transcode.ChunkJob) { j.Rungs[1].Width = 641 }, "rung 1"},
		{"no rate cap", func(j *transcode.ChunkJob) { j.Rungs[0].MaxrateKbps = 0 }, "rung 0"},
		{"a first key frame other than 0", func(j *transcode.ChunkJob) { j.KeyFrames[0] = 1 }, "key frames"},
		{"key frames and starts that do not pair", func(j *transcode.ChunkJob) { j.Starts = j.Starts[:1] }, "with 1 starts"},
		{"a key frame past the chunk", func(j *transcode.ChunkJob) { j.KeyFrames[1] = 300 }, "media segment 1"},
		{"starts out of order", func(j *transcode.ChunkJob) { j.Starts[1] = 720000 }, "media segment 1"},
		{"no time base", func(j *transcode.ChunkJob) { j.TimeBase = media.Rational{} }, "time base"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := valid()
			tc.edit(&j)
			assert.ErrorContains(t, j.Validate(), tc.error)
		})
	}
}
