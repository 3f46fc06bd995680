package media_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
)

func TestFormatName(t *testing.T) {
	tests := []struct {
		format, path, want string
	}{
		{"mov,mp4,m4a,3gp,3g2,mj2", "in.mp4", "MP4"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "dir.v2/IN.MOV", "QuickTime/MOV"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "song.m4a", "MP4 audio (M4A)"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "phone.3gp", "3GP"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "no-extension", "MP4"},
		{"matroska,webm", "in.mkv", "Matroska"},
		{"matroska,webm", "in.webm", "WebM"},
		{"matroska,webm", "in.mka", "Matroska"},
		{"mpegts", "in.ts", "MPEG-TS"},
		{"mpegts", "in.m2ts", "MPEG-TS"},
		{"avi", "in.avi", "AVI"},
		{"asf", "in.wmv", "WMV"},
		{"asf", "in.asf", "ASF"},
		{"h264", "in.264", "raw H.264"},
		{"some_new_demuxer", "in.xyz", "some_new_demuxer"},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.path, func(t *testing.T) {
			assert.Equal(t, tt.want, media.FormatName(tt.format, tt.path))
		})
	}
}

func TestFrameRates(t *testing.T) {
	video := &media.Stream{Type: media.Video, TimeBase: media.Rational{Num: 1, Den: 1000}}
	frames := func(pts ...int64) []media.Frame {
		f := make([]media.Frame, len(pts))
		for i, p := range pts {
			f[i] = media.Frame{PTS: p}
		}
		return f
	}
	tests := []struct {
		name          string
		frames        []media.Frame
		end           int64
		average, peak float64
	}{
		{"constant 25 fps", frames(0, 40, 80, 120), 160, 25, 25},
		{"20 and 50 ms alternating", frames(0, 20, 70, 90), 140, 4 / 0.140, 50},
		{"one frame", frames(0), 40, 25, 0},
		{"no frames", nil, 0, 0, 0},
		{"frames at the same time make no infinite peak", frames(0, 0, 40), 80, 3 / 0.080, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &media.Media{Video: video, Frames: tt.frames, FrameEnd: tt.end}
			average, peak := m.FrameRates()
			assert.InDelta(t, tt.average, average, 1e-9, "average")
			assert.InDelta(t, tt.peak, peak, 1e-9, "peak")
		})
	}
}
