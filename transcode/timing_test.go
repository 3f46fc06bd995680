package transcode_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPacketDurations checks that MP4 and MOV output with B-frames says how
// long each video frame lasts, as plain ffmpeg's does, so a prober reading
// the packets finds the video as long as the source's and not a frame short.
func TestPacketDurations(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	spec := fixture.Spec{BFrames: 2, Audio: 1}
	in := fixture.Video(t, spec)
	want := fixture.PacketSpan(fixture.Packets(t, in, "v:0"))
	halfFrame := 0.5 / float64(25)
	for _, ext := range []string{".mp4", ".mov"} {
		t.Run("every video packet in "+ext+" has a duration", func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out"+ext)
			req := request(in, out)
			req.Profile.Preset = "superfast" // ultrafast turns B-frames off
			sum, err := run(t, req, nil)
			require.NoError(t, err)

			packets := fixture.Packets(t, out, "v:0")
			require.Len(t, packets, sum.Frames)
			reordered, missing, first := false, 0, -1
			for i, p := range packets {
				reordered = reordered || p.PTS > p.DTS
				if !p.HasDuration || p.Duration <= 0 {
					missing++
					if first < 0 {
						first = i
					}
				}
			}
			// Without B-frames MP4's sample table gives every duration,
			// and the case would test nothing.
			require.True(t, reordered, "the output has B-frames")
			assert.Zero(t, missing, "video packets without a duration, the first is packet %d", first)
			assert.InDelta(t, want, fixture.PacketSpan(packets), halfFrame, "video duration from the packets")

			m, err := ffmpeg.Runner{}.Probe(context.Background(), out)
			require.NoError(t, err)
			assert.InDelta(t, want, m.Video.Duration(), halfFrame, "video duration chunkcode probe reports")
		})
	}
}
