package transcode_test

import (
	"runtime"
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planSource is a 4 s, 25 fps video with a keyframe every second and one
// audio track.
func planSource() *media.Media {
	m := &media.Media{Path: "in.mp4", Format: "mov,mp4,m4a,3gp,3g2,mj2", Streams: []media.Stream{
		{Index: 0, Type: media.Video, Codec: "h264", FrameRate: "25/1", TimeBase: media.Rational{Num: 1, Den: 12800}},
		{Index: 1, Type: media.Audio, Codec: "aac"},
	}}
	m.Video = &m.Streams[0]
	for i := range 100 {
		m.Frames = append(m.Frames, media.Frame{PTS: int64(i) * 512, Key: i%25 == 0})
	}
	m.FrameEnd = 100 * 512
	return m
}

func TestNewPlan(t *testing.T) {
	local := transcode.Properties{Name: transcode.LocalBackend, Workers: 3, SharesCores: true}
	remote := transcode.Properties{Name: "remote", Workers: 100}
	tests := []struct {
		name     string
		req      transcode.Request
		props    transcode.Properties
		workers  int
		segments int
		threads  int
	}{
		{"workers default to the backend's", transcode.Request{Output: "out.mp4", SegmentDuration: 1e9}, local, 3, 4, max(1, runtime.NumCPU()/3)},
		{"fewer segments than workers share the cores", transcode.Request{Output: "out.mp4", Workers: 8, SegmentDuration: 2e9}, local, 8, 2, max(1, runtime.NumCPU()/2)},
		{"threads given are kept", transcode.Request{Output: "out.mkv", Workers: 2, SegmentDuration: 1e9, Profile: transcode.Profile{Threads: 5}}, local, 2, 4, 5},
		{"a remote backend leaves threads to the encode", transcode.Request{Output: "out.mp4", SegmentDuration: 1e9}, remote, 100, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := transcode.NewPlan(planSource(), tt.req, tt.props)
			require.NoError(t, err)
			assert.Equal(t, tt.workers, p.Workers, "workers")
			assert.Len(t, p.Split.Segments, tt.segments, "segments")
			assert.Equal(t, tt.threads, p.Profile.Threads, "threads")
			assert.Equal(t, media.H264, p.Profile.Codec, "the codec's default")
			assert.Equal(t, 23, p.Profile.Quality(), "the codec's CRF")
			assert.Equal(t, media.AAC, p.Profile.AudioCodec, "the container's audio codec")
		})
	}
}

func TestNewPlanRefuses(t *testing.T) {
	local := transcode.Properties{Name: transcode.LocalBackend, Workers: 2, SharesCores: true}
	_, err := transcode.NewPlan(planSource(), transcode.Request{Output: "out.avi"}, local)
	assert.ErrorContains(t, err, "unsupported output container")
	p, err := transcode.NewPlan(planSource(), transcode.Request{Output: "out.webm"}, local)
	require.NoError(t, err)
	assert.Equal(t, media.VP9, p.Profile.Codec, "no codec given: the container's")
	_, err = transcode.NewPlan(planSource(), transcode.Request{Output: "out.webm", Profile: transcode.Profile{Codec: media.H264}}, local)
	var se *transcode.SettingError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "codec", se.Setting)
}

func TestPlanCommands(t *testing.T) {
	src := planSource()
	p, err := transcode.NewPlan(src, transcode.Request{Output: "out.mkv", Workers: 2, SegmentDuration: 1e9},
		transcode.Properties{Name: transcode.LocalBackend, Workers: 2, SharesCores: true})
	require.NoError(t, err)
	jobs := p.Jobs(src, "/work")
	require.Len(t, jobs, 4)
	for i, j := range jobs {
		assert.Equal(t, i, j.Index)
		assert.Equal(t, 25, j.Frames)
		assert.Equal(t, p.Profile, j.Profile)
		args := transcode.SegmentArgs(j)
		assert.Equal(t, j.Output, args[len(args)-1], "the segment's file is the last argument")
	}
	assert.Equal(t, "/work/audio.m4a", p.AudioFile(src, "/work"))
	spec := p.MergeSpec(src, "/work", "out.mkv")
	assert.Equal(t, "/work/audio.m4a", spec.Audio)
	require.Len(t, spec.Pieces, 4)
	for i, piece := range spec.Pieces {
		assert.Equal(t, jobs[i].Output, piece.Path, "the merge reads what the segment wrote")
		assert.InDelta(t, 1.0, piece.Duration, 1e-9)
	}
	assert.Equal(t, "matroska", spec.Container.Format)

	p.Profile.AudioCodec = media.AudioCopy
	assert.Empty(t, p.AudioFile(src, "/work"), "copied audio is not encoded")
}
