package media_test

import (
	"errors"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubtitleCodec(t *testing.T) {
	tests := []struct {
		format, codec string
		want          string // "" means ErrUnsupported
	}{
		{"mp4", "subrip", "mov_text"},
		{"mp4", "ass", "mov_text"},
		{"mp4", "webvtt", "mov_text"},
		{"mp4", "mov_text", "copy"},
		{"mov", "subrip", "mov_text"},
		{"mp4", "hdmv_pgs_subtitle", ""},
		{"mp4", "dvd_subtitle", ""},
		{"webm", "webvtt", "copy"},
		{"webm", "subrip", "webvtt"},
		{"webm", "mov_text", "webvtt"},
		{"webm", "dvd_subtitle", ""},
		{"matroska", "subrip", "copy"},
		{"matroska", "ass", "copy"},
		{"matroska", "hdmv_pgs_subtitle", "copy"},
		{"matroska", "mov_text", "srt"},
	}
	byFormat := map[string]media.Container{}
	for _, c := range media.Containers {
		byFormat[c.Format] = c
	}
	for _, tt := range tests {
		t.Run(tt.codec+" in "+tt.format, func(t *testing.T) {
			c, ok := byFormat[tt.format]
			require.True(t, ok, "no container %s", tt.format)
			got, err := c.SubtitleCodec(tt.codec)
			if tt.want == "" {
				assert.True(t, errors.Is(err, media.ErrUnsupported), "want ErrUnsupported, got %q, %v", got, err)
				assert.Contains(t, err.Error(), tt.codec, "the error names the codec")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
