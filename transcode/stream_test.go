package transcode_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ladderRequest asks for a ladder of in at out with 1 s media segments.
func ladderRequest(in, out string, rungs string) transcode.Request {
	req := transcode.Request{
		Input: in, Output: out,
		Profile:       transcode.Profile{Preset: "ultrafast"},
		Workers:       2,
		SegmentLength: time.Second,
		Retries:       transcode.DefaultRetries,
	}
	if rungs != "" {
		req.Ladder, _ = ladder.Parse(rungs)
	}
	return req
}

// rendition concatenates a rendition's init segment and media segments, as
// a player appends them, into one file ffprobe reads.
func rendition(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, transcode.LadderInit))
	require.NoError(t, err)
	for n := 0; ; n++ {
		b, err := os.ReadFile(filepath.Join(dir, transcode.SegmentName(n)))
		if os.IsNotExist(err) {
			require.Positive(t, n, "no segment in %s", dir)
			break
		}
		require.NoError(t, err)
		data = append(data, b...)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+".mp4")
	require.NoError(t, os.WriteFile(out, data, 0o644))
	return out
}

// keyTimes returns the presentation times of the keyframes of the first
// video stream of path, from ffprobe's packets, counted from the first
// keyframe's. ffmpeg's MP4 demuxer shifts a track with negative
// composition offsets and no edit list later by its largest negative
// offset, so its absolute times are those of the CMAF timeline plus the
// B-frame delay; players (Chromium's, in the browser test) present the
// first frame at the fragment's decode time.
func keyTimes(t *testing.T, path string) (keys []float64, frames int) {
	t.Helper()
	out := fixture.FFprobe(t, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path)
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(strings.TrimSpace(l), ",")
		if len(f) < 2 {
			continue
		}
		frames++
		if strings.HasPrefix(f[1], "K") {
			v, err := strconv.ParseFloat(f[0], 64)
			require.NoError(t, err)
			keys = append(keys, v)
		}
	}
	for i := len(keys) - 1; i >= 0; i-- {
		keys[i] -= keys[0]
	}
	return keys, frames
}

// TestLadderHLSAndDASH encodes a 5 s source with audio into a three-rung
// ladder with both manifests, and checks it as a player and a prober see
// it: every rung has every frame, keyframes exactly on the 1 s segment
// boundaries and nowhere else, the same on every rung; the playlists read
// back with measured bandwidths and the encoded codec strings.
func TestLadderHLSAndDASH(t *testing.T) {
	fixture.RequireFFmpeg(t)
	spec := fixture.Spec{Duration: 5 * time.Second, Width: 320, Height: 240, Audio: 2, Languages: []string{"eng", "fra"}, BFrames: 2, Subtitles: true}
	in := fixture.Video(t, spec)
	root := t.TempDir()
	out := filepath.Join(root, "out", "master.m3u8")
	req := ladderRequest(in, out, "240,180,120")
	req.Profile.Preset = "superfast" // with B-frames, unlike ultrafast
	req.Manifests = []string{transcode.HLS, transcode.DASH}
	sum, err := (&transcode.Pipeline{}).Run(context.Background(), req)
	require.NoError(t, err)

	dir := filepath.Dir(out)
	require.Len(t, sum.Rungs, 3)
	for _, r := range sum.Rungs {
		assert.Equal(t, spec.Frames(), r.Frames, "%dp frames", r.Height)
		assert.Equal(t, 5, r.Segments, "%dp segments", r.Height)
		assert.Regexp(t, `^avc1\.[0-9a-f]{6},mp4a\.40\.2$`, r.Codecs)
		assert.Positive(t, r.AverageBandwidth)
		assert.LessOrEqual(t, r.AverageBandwidth, r.Bandwidth)
	}
	assert.Equal(t, []int{240, 180, 120}, []int{sum.Rungs[0].Height, sum.Rungs[1].Height, sum.Rungs[2].Height})
	assert.Equal(t, 320, sum.Rungs[0].Width)
	assert.Equal(t, 160, sum.Rungs[2].Width)

	// Every chunk's result, for the bench's projection: its frames, its
	// encode time and its bytes over every rung.
	require.Len(t, sum.Results, sum.Segments)
	var frames int
	var bytes int64
	for i, res := range sum.Results {
		assert.Equal(t, i, res.Index)
		assert.Positive(t, res.EncodeSeconds)
		frames += res.Frames
		bytes += res.Bytes
	}
	assert.Equal(t, spec.Frames(), frames)
	var rungBytes int64
	for _, r := range sum.Rungs {
		rungBytes += r.Bytes
	}
	assert.Positive(t, bytes)
	assert.Equal(t, rungBytes, bytes, "the chunks' media segments make the rungs")
	assert.Positive(t, sum.Stages.Merge, "assembling and manifests are the merge stage")

	wantKeys := []float64{0, 1, 2, 3, 4}
	for _, r := range sum.Rungs {
		rdir := filepath.Join(dir, fmt.Sprintf("%dp", r.Height))
		// Each segment presents its first frame at its decode time, the
		// boundary, whatever the B-frames' reordering.
		info, err := mp4.ReadInit(filepath.Join(rdir, transcode.LadderInit))
		require.NoError(t, err)
		for k := range 5 {
			frags, err := mp4.ReadFragments(filepath.Join(rdir, transcode.SegmentName(k)), info)
			require.NoError(t, err)
			require.Len(t, frags, 1)
			assert.Equal(t, uint64(k)*uint64(info.Timescale), frags[0].Start, "%dp segment %d decode time", r.Height, k)
			assert.Equal(t, int64(frags[0].Start), frags[0].Earliest, "%dp segment %d first presentation", r.Height, k)
		}
		path := rendition(t, rdir)
		keys, frames := keyTimes(t, path)
		assert.Equal(t, spec.Frames(), frames, "%dp frames as ffprobe reads them", r.Height)
		assert.InDeltaSlice(t, wantKeys, keys, 1e-6, "%dp keyframe times", r.Height)
		v := fixture.Inspect(t, path).Video(t)
		assert.Equal(t, r.Width, v.Width)
		assert.Equal(t, r.Height, v.Height)
	}

	text, err := os.ReadFile(out)
	require.NoError(t, err)
	t.Logf("master.m3u8:\n%s", text)
	m, err := manifest.ParseMaster(text)
	require.NoError(t, err)
	require.Len(t, m.Variants, 3)
	require.Len(t, m.Audio, 2)
	assert.Equal(t, "eng", m.Audio[0].Language)
	assert.Equal(t, "fra", m.Audio[1].Language)
	assert.Contains(t, string(text), "#EXT-X-INDEPENDENT-SEGMENTS")
	assert.NotContains(t, string(text), "PROGRAM-ID")
	for i, v := range m.Variants {
		assert.Equal(t, sum.Rungs[i].Bandwidth, v.Bandwidth)
		assert.Equal(t, sum.Rungs[i].AverageBandwidth, v.AverageBandwidth)
		assert.Equal(t, 25.0, v.FrameRate)
		pl, err := os.ReadFile(filepath.Join(dir, v.URI))
		require.NoError(t, err)
		p, err := manifest.ParsePlaylist(pl)
		require.NoError(t, err)
		assert.InDelta(t, 5.0, p.Duration(), 0.04, "%s duration", v.URI)
		assert.Contains(t, string(pl), "#EXT-X-PLAYLIST-TYPE:VOD")
	}
	// Bandwidth falls with the rung.
	assert.Greater(t, m.Variants[0].Bandwidth, m.Variants[2].Bandwidth)

	// The subtitles: one WebVTT segment per media segment, each with the
	// cues shown during it, on the video's timeline.
	require.Len(t, m.Subtitles, 1)
	subs, err := os.ReadFile(filepath.Join(dir, m.Subtitles[0].URI))
	require.NoError(t, err)
	sp, err := manifest.ParsePlaylist(subs)
	require.NoError(t, err)
	require.Len(t, sp.Segments, 5)
	for k, seg := range sp.Segments {
		text, err := os.ReadFile(filepath.Join(dir, filepath.Dir(m.Subtitles[0].URI), seg.URI))
		require.NoError(t, err)
		cues, err := manifest.ParseVTT(text)
		require.NoError(t, err)
		require.Len(t, cues, 1, "segment %d", k)
		assert.InDelta(t, float64(k)+0.1, cues[0].Start, 1e-3)
		assert.Equal(t, fmt.Sprintf("line %d", k+1), cues[0].Text)
		assert.Contains(t, string(text), "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000")
	}

	mpdText, err := os.ReadFile(filepath.Join(dir, transcode.DefaultMPD))
	require.NoError(t, err)
	mpd, err := manifest.ParseMPD(mpdText)
	require.NoError(t, err)
	sets := mpd.Periods[0].AdaptationSets
	require.Len(t, sets, 4, "video, two audio and one text adaptation sets")
	assert.Equal(t, "text", sets[3].ContentType)
	assert.FileExists(t, filepath.Join(dir, sets[3].Representations[0].BaseURL))

	// Nothing is left beside the output directory but it.
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "out", entries[0].Name())
}

// TestLadderTiming checks that a variable frame rate, a rotation and a
// source that does not start at 0 survive: every frame keeps its time, the
// displayed size is the rotated one, and segments start on the first frame
// at or after each boundary.
func TestLadderTiming(t *testing.T) {
	fixture.RequireFFmpeg(t)
	spec := fixture.Spec{Duration: 3 * time.Second, Width: 160, Height: 120, VFR: true, Rotate: 90, Audio: 1}
	// Starting at 1.5 s, as a cut from a longer recording can.
	in := filepath.Join(t.TempDir(), "late.mp4")
	fixture.FFmpeg(t, "-i", fixture.Video(t, spec), "-map", "0", "-c", "copy", "-output_ts_offset", "1.5", in)
	require.InDelta(t, 1.5, fixture.FrameTimes(t, in)[0], 1e-3)
	out := filepath.Join(t.TempDir(), "ladder", "manifest.mpd")
	sum, err := (&transcode.Pipeline{}).Run(context.Background(), ladderRequest(in, out, ""))
	require.NoError(t, err)
	require.NotEmpty(t, sum.Rungs)
	top := sum.Rungs[0]
	assert.Equal(t, 160, top.Height, "displayed height of a 160x120 source turned by 90°")
	assert.Equal(t, 120, top.Width)

	path := rendition(t, filepath.Join(filepath.Dir(out), fmt.Sprintf("%dp", top.Height)))
	want, got := fixture.FrameTimes(t, in), fixture.FrameTimes(t, path)
	require.Len(t, got, len(want))
	if worst, frame := fixture.TimingError(want, got); worst > 1e-3 {
		t.Errorf("frame %d is %.4fs from the source's time", frame, worst)
	}
	keys, _ := keyTimes(t, path)
	for i, k := range keys {
		// The first frame at or after each whole second from the first.
		assert.GreaterOrEqual(t, k, float64(i)-1e-9)
		assert.Less(t, k, float64(i)+0.05+1e-9)
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(out), transcode.DefaultMaster))
	assert.ErrorIs(t, err, os.ErrNotExist, "a .mpd OUTPUT writes DASH only")
}

// TestLadderRefuses checks the settings a ladder refuses before any work,
// and that a refused or failed run leaves nothing at OUTPUT.
func TestLadderRefuses(t *testing.T) {
	fixture.RequireFFmpeg(t)
	in := fixture.Video(t, fixture.Spec{})
	for _, tc := range []struct {
		name string
		edit func(*transcode.Request)
		want string
	}{
		{"an upscaling rung", func(r *transcode.Request) { r.Ladder, _ = ladder.Parse("240") }, "never upscales"},
		{"a codec other than h264 or h265", func(r *transcode.Request) { r.Profile.Codec = media.VP9 }, "h264 or h265"},
		{"a --height", func(r *transcode.Request) { r.Profile.Height = 100 }, "--ladder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			req := ladderRequest(in, filepath.Join(root, "out", "master.m3u8"), "")
			tc.edit(&req)
			_, err := (&transcode.Pipeline{}).Run(context.Background(), req)
			require.ErrorContains(t, err, tc.want)
			entries, _ := os.ReadDir(root)
			assert.Empty(t, entries, "nothing left after a refused run")
		})
	}
}

// TestLadderInterrupted stops a ladder run once its first frames are
// encoded: nothing is left at OUTPUT, beside it, or in the directories the
// run created on the way.
func TestLadderInterrupted(t *testing.T) {
	fixture.RequireFFmpeg(t)
	in := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Audio: 1})
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &transcode.Pipeline{Notify: func(e transcode.Event) {
		if e.Kind == transcode.EventFrames {
			cancel()
		}
	}}
	_, err := p.Run(ctx, ladderRequest(in, filepath.Join(root, "a", "b", "master.m3u8"), ""))
	require.ErrorIs(t, err, context.Canceled)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Empty(t, entries, "left behind")
}

// TestLadderH265 makes an h265 ladder: the rungs have every frame and their
// keyframes on the boundaries, and CODECS is read from the hvcC.
func TestLadderH265(t *testing.T) {
	fixture.RequireEncoder(t, "libx265")
	in := fixture.Video(t, fixture.Spec{Duration: 2 * time.Second, Audio: 1})
	out := filepath.Join(t.TempDir(), "ladder", "master.m3u8")
	req := ladderRequest(in, out, "120,60")
	req.Profile.Codec = media.H265
	sum, err := (&transcode.Pipeline{}).Run(context.Background(), req)
	require.NoError(t, err)
	for _, r := range sum.Rungs {
		assert.Regexp(t, `^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2})*,mp4a\.40\.2$`, r.Codecs)
		keys, frames := keyTimes(t, rendition(t, filepath.Join(filepath.Dir(out), fmt.Sprintf("%dp", r.Height))))
		assert.Equal(t, 50, frames)
		assert.InDeltaSlice(t, []float64{0, 1}, keys, 1e-6)
	}
}
