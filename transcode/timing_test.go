package transcode_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
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

// TestTiming checks, for every output container, that chunkcode's output
// keeps the source's video frame times and starts its audio as far from the
// video as one plain ffmpeg pass with the same codecs does. The sources have
// B-frames, and have variable frame rate video or audio whose encoder
// primes it (the samples an MP4 edit list skips).
func TestTiming(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	sources := []struct {
		name string
		spec fixture.Spec
		// plain adds options to the plain ffmpeg pass.
		plain []string
	}{
		// By default plain ffmpeg moves variable frame rate video onto
		// a grid of its guessed rate, 25 fps here: it keeps 44 to 50 of
		// the 50 frames, and its first frame moves from 0.021s to 0s or
		// 0.040s, which changes the offset by 20 ms. Keeping the
		// source's frames, as chunkcode must, it starts the audio just
		// as chunkcode does.
		{"variable frame rate mkv", fixture.Spec{Name: "vfr.mkv", VFR: true, BFrames: 2, Audio: 1},
			[]string{"-fps_mode", "passthrough", "-enc_time_base:v", "-1"}},
		{"primed aac in mp4", fixture.Spec{BFrames: 2, Audio: 1}, nil},
		{"primed mp3 in mp4", fixture.Spec{BFrames: 2, Audio: 1, AudioEncoder: "libmp3lame"}, nil},
	}
	outputs := []struct {
		ext    string
		codec  media.Codec
		preset string
		// plain is the codec options of the plain ffmpeg pass.
		plain []string
	}{
		// superfast, unlike ultrafast, makes B-frames.
		{".mp4", media.H264, "superfast", []string{"-c:v", "libx264", "-preset", "superfast", "-c:a", "aac"}},
		{".mov", media.H264, "superfast", []string{"-c:v", "libx264", "-preset", "superfast", "-c:a", "aac"}},
		{".mkv", media.H264, "superfast", []string{"-c:v", "libx264", "-preset", "superfast", "-c:a", "aac"}},
		{".webm", media.VP9, "8", []string{"-c:v", "libvpx-vp9", "-cpu-used", "8", "-c:a", "libopus"}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			if src.spec.AudioEncoder != "" {
				fixture.RequireEncoder(t, src.spec.AudioEncoder)
			}
			in := fixture.Video(t, src.spec)
			want := fixture.FrameTimes(t, in)
			for _, o := range outputs {
				t.Run("to "+o.ext, func(t *testing.T) {
					t.Parallel()
					if o.codec == media.VP9 {
						fixture.RequireEncoder(t, "libvpx-vp9")
						fixture.RequireEncoder(t, "libopus")
					}
					dir := t.TempDir()
					out := filepath.Join(dir, "out"+o.ext)
					req := request(in, out)
					req.Profile.Codec, req.Profile.Preset = o.codec, o.preset
					_, err := run(t, req, nil)
					require.NoError(t, err)
					plain := filepath.Join(dir, "plain"+o.ext)
					args := append([]string{"-i", in, "-threads", "1"}, o.plain...)
					fixture.FFmpeg(t, append(append(args, src.plain...), plain)...)

					t.Run("video frame times are the source's", func(t *testing.T) {
						got := fixture.FrameTimes(t, out)
						require.Len(t, got, len(want))
						worst, i := fixture.TimingError(want, got)
						assert.LessOrEqual(t, worst, timingTolerance, "frame %d is %.4fs off the source's timing", i, worst)
					})
					t.Run("audio starts as far from the video as in plain ffmpeg's", func(t *testing.T) {
						offset := audioOffset(t, out)
						wantOffset := audioOffset(t, plain)
						t.Logf("audio minus video start: chunkcode %.4fs, plain ffmpeg %.4fs, source %.4fs", offset, wantOffset, audioOffset(t, in))
						assert.InDelta(t, wantOffset, offset, 0.002, "audio minus video start: chunkcode %.4fs, plain ffmpeg %.4fs", offset, wantOffset)
					})
				})
			}
		})
	}
}

// timingTolerance is how far a frame's time from the first may move: the
// rounding of Matroska's millisecond time base, and a float's.
const timingTolerance = 0.001 + 1e-6

// audioOffset is how long after the first video frame the first audio
// sample plays, in seconds.
func audioOffset(t *testing.T, path string) float64 {
	return fixture.FirstFrameTime(t, path, "a:0") - fixture.FirstFrameTime(t, path, "v:0")
}
