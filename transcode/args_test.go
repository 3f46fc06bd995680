package transcode

import (
	"slices"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBaselineArgsMatchSegmentArgs checks that the plain ffmpeg baseline
// uses every encoder setting a segment encode uses, so the two cannot drift.
func TestBaselineArgsMatchSegmentArgs(t *testing.T) {
	src := &media.Media{Path: "in.mp4", Streams: []media.Stream{
		{Index: 0, Type: "video", Codec: "h264", FrameRate: "25/1", TimeBase: media.Rational{Num: 1, Den: 12800}},
		{Index: 1, Type: "audio", Codec: "aac"},
	}}
	src.Video = &src.Streams[0]
	for _, codec := range media.Codecs {
		t.Run(string(codec), func(t *testing.T) {
			p := Profile{Codec: codec, Preset: codec.Presets()[2], Height: 720, AudioBitrate: "96k"}
			args, err := BaselineArgs(src, p, "out.mkv")
			require.NoError(t, err)
			p = p.WithDefaults(media.Containers[2])
			require.NoError(t, p.Check(media.Containers[2], "out.mkv"))
			seg := segmentArgs(Job{Source: "in.mp4", Frames: 10, FrameRate: "25/1", Profile: p, Output: "seg.mp4"}, nil)
			for _, opt := range []string{"-c:v", "-crf", "-preset", "-cpu-used", "-x264-params", "-b:v", "-row-mt", "-tag:v", "-vf", "-fps_mode", "-enc_time_base:v", "-bsf:v"} {
				if i := slices.Index(seg, opt); i >= 0 {
					j := slices.Index(args, opt)
					require.GreaterOrEqual(t, j, 0, "baseline lacks %s: %q", opt, args)
					assert.Equal(t, seg[i+1], args[j+1], "%s", opt)
				}
			}
			if codec == media.H264 {
				assert.Contains(t, seg, "h264_metadata=tick_rate=50/1", "the H.264 headers declare the frame rate")
			}
			assert.NotContains(t, args, "-threads", "the baseline leaves threads to the encoder")
			assert.Contains(t, args, "-c:a")
			assert.Equal(t, "in.mp4", args[slices.Index(args, "-i")+1])
			assert.Equal(t, "out.mkv", args[len(args)-1])
		})
	}
}
