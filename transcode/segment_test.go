package transcode_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJobValidate(t *testing.T) {
	valid := func() transcode.Job {
		return transcode.Job{Source: "https://example.com/in.mp4", Frames: 50, SeekMicros: 2_000_000,
			Profile: transcode.Profile{Codec: media.H264}}
	}
	t.Run("fills the codec's default quality", func(t *testing.T) {
		j := valid()
		require.NoError(t, j.Validate())
		require.NotNil(t, j.Profile.CRF)
		assert.Equal(t, 23, *j.Profile.CRF)
	})
	t.Run("audio settings play no part", func(t *testing.T) {
		// A WebM output's opus audio must not fail the video-only segment.
		j := valid()
		j.Profile = transcode.Profile{Codec: media.VP9, CRF: transcode.CRF(31), AudioCodec: "opus", AudioBitrate: "96k"}
		require.NoError(t, j.Validate())
		assert.Equal(t, media.Opus, j.Profile.AudioCodec, "the job's own profile is left as it came")
	})
	for _, tc := range []struct {
		name  string
		edit  func(*transcode.Job)
		error string
	}{
		{"no source", func(j *transcode.Job) { j.Source = "" }, "no source"},
		{"no frames", func(j *transcode.Job) { j.Frames = 0 }, "frames 0 out of range"},
		{"negative seek", func(j *transcode.Job) { j.SeekMicros = -1 }, "seek -1µs out of range"},
		{"preroll before the start", func(j *transcode.Job) { j.PrerollMicros = 3_000_000 }, "preroll"},
		{"frame rate not a fraction", func(j *transcode.Job) { j.FrameRate = "30,tick_rate=1" }, "frame rate"},
		{"zero frame rate", func(j *transcode.Job) { j.FrameRate = "0/0" }, "frame rate"},
		{"odd rotation", func(j *transcode.Job) { j.Rotation = 45 }, "rotation 45"},
		{"unknown codec", func(j *transcode.Job) { j.Profile.Codec = "mpeg2" }, "mpeg2"},
		{"crf out of range", func(j *transcode.Job) { j.Profile.CRF = transcode.CRF(99) }, "crf 99"},
		{"threads out of range", func(j *transcode.Job) { j.Profile.Threads = 1000 }, "threads 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := valid()
			tc.edit(&j)
			assert.ErrorContains(t, j.Validate(), tc.error)
		})
	}
}
