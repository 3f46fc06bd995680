package manifest_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/browsertest"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

const (
	clipSeconds = 8
	clipRate    = 25
)

// track is one CMAF rendition ffmpeg wrote: its init segment and media
// segments, as measured from the files.
type track struct {
	dir       string // relative to the ladder's root, such as "v0"
	init      string // file name inside dir
	info      mp4.Init
	segments  []string // file names inside dir
	earliest  uint64   // first fragment's earliest presentation time
	durations []uint64 // per segment, in info.Timescale units
	bits      []int64  // per segment
}

func (tr track) seconds(i int) float64 {
	return float64(tr.durations[i]) / float64(tr.info.Timescale)
}

func (tr track) total() float64 {
	var s float64
	for i := range tr.durations {
		s += tr.seconds(i)
	}
	return s
}

// rates measures the track's BANDWIDTH and AVERAGE-BANDWIDTH.
func (tr track) rates(t *testing.T) manifest.Rates {
	t.Helper()
	var sizes []int64
	var secs []float64
	for i, b := range tr.bits {
		sizes = append(sizes, b/8)
		secs = append(secs, tr.seconds(i))
	}
	r, err := manifest.Measure(sizes, secs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// measure reads a rendition directory ffmpeg's hls muxer filled.
func measure(t *testing.T, root, dir string) track {
	t.Helper()
	tr := track{dir: dir}
	inits, _ := filepath.Glob(filepath.Join(root, dir, "init*.mp4"))
	if len(inits) != 1 {
		t.Fatalf("init segments in %s: %v", dir, inits)
	}
	tr.init = filepath.Base(inits[0])
	var err error
	if tr.info, err = mp4.ReadInit(inits[0]); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		name := fmt.Sprintf("seg%d.m4s", i)
		p := filepath.Join(root, dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			break
		}
		frags, err := mp4.ReadFragments(p, tr.info)
		if err != nil {
			t.Fatal(err)
		}
		var d uint64
		for _, f := range frags {
			d += f.Duration
		}
		if i == 0 {
			tr.earliest = uint64(frags[0].Earliest)
		}
		tr.segments = append(tr.segments, name)
		tr.durations = append(tr.durations, d)
		tr.bits = append(tr.bits, 8*fi.Size())
	}
	if len(tr.segments) == 0 {
		t.Fatalf("no segment in %s", dir)
	}
	return tr
}

func (tr track) playlist() manifest.Playlist {
	p := manifest.Playlist{Init: tr.init}
	for i, s := range tr.segments {
		p.Segments = append(p.Segments, manifest.Segment{URI: s, Duration: tr.seconds(i)})
	}
	return p
}

func (tr track) template() *manifest.SegmentTemplate {
	return &manifest.SegmentTemplate{
		// ffmpeg's hls muxer writes positive composition offsets, so
		// video is presented from its B-frame delay on: the offset maps
		// that first presentation time to the period's start.
		Timescale:              tr.info.Timescale,
		PresentationTimeOffset: tr.earliest,
		Initialization:         tr.dir + "/" + tr.init,
		Media:                  tr.dir + "/seg$Number$.m4s",
		StartNumber:            0,
		SegmentTimeline:        manifest.NewTimeline(tr.earliest, tr.durations),
	}
}

func write(t *testing.T, path string, b []byte, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ourLadder has ffmpeg encode a three-rung CMAF ladder with one audio
// track, 1 s segments, then writes chunkcode's own manifests over those
// segments, from what mp4 reads out of them: master.m3u8 with a playlist
// per rendition, a segmented WebVTT subtitle rendition, and manifest.mpd.
func ourLadder(t *testing.T) (root string, video []track, audio track) {
	t.Helper()
	fixture.RequireFFmpeg(t)
	root = t.TempDir()
	secs := fmt.Sprint(clipSeconds)
	fixture.FFmpeg(t,
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=432x240:rate=%d:duration=%s", clipRate, secs),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+secs,
		"-filter_complex", "[0:v]split=3[a][b][c];[a]scale=-2:240[v0];[b]scale=-2:180[v1];[c]scale=-2:144[v2]",
		"-map", "[v0]", "-map", "[v1]", "-map", "[v2]", "-map", "1:a",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
		"-maxrate:v:0", "300k", "-bufsize:v:0", "600k", "-maxrate:v:1", "200k", "-bufsize:v:1", "400k",
		"-maxrate:v:2", "120k", "-bufsize:v:2", "240k", "-crf", "26",
		"-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
		"-var_stream_map", "v:0 v:1 v:2 a:0",
		"-hls_segment_filename", filepath.Join(root, "v%v", "seg%d.m4s"), filepath.Join(root, "v%v", "ffmpeg.m3u8"))
	for _, d := range []string{"v0", "v1", "v2"} {
		video = append(video, measure(t, root, d))
	}
	audio = measure(t, root, "v3")

	// Subtitles: two WebVTT segments for HLS, one file for DASH.
	cues := []string{"00:00:00.500 --> 00:00:03.000\nfirst cue\n", fmt.Sprintf("00:00:04.500 --> 00:00:0%d.000\nsecond cue\n", clipSeconds-1)}
	if err := os.MkdirAll(filepath.Join(root, "subs"), 0o755); err != nil {
		t.Fatal(err)
	}
	half := float64(clipSeconds) / 2
	subs := manifest.Playlist{}
	for i, cue := range cues {
		name := fmt.Sprintf("sub%d.vtt", i)
		text := "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n" + cue
		write(t, filepath.Join(root, "subs", name), []byte(text), nil)
		subs.Segments = append(subs.Segments, manifest.Segment{URI: name, Duration: half})
	}
	write(t, filepath.Join(root, "subs.vtt"), []byte("WEBVTT\n\n"+strings.Join(cues, "\n")), nil)

	// HLS.
	m := manifest.Master{
		Audio:     []manifest.Rendition{{URI: "v3/playlist.m3u8", Language: "en", Name: "English"}},
		Subtitles: []manifest.Rendition{{URI: "subs/playlist.m3u8", Language: "en", Name: "English"}},
	}
	for _, v := range video {
		text, err := v.playlist().HLS()
		write(t, filepath.Join(root, v.dir, "playlist.m3u8"), text, err)
		avc := v.info.AVC
		w, h := dims(t, filepath.Join(root, v.dir))
		rates := v.rates(t).Plus(audio.rates(t))
		m.Variants = append(m.Variants, manifest.Variant{
			URI:              v.dir + "/playlist.m3u8",
			Bandwidth:        rates.Peak,
			AverageBandwidth: rates.Mean,
			Codecs:           manifest.Codecs(manifest.AVCCodec(avc.Profile, avc.Constraints, avc.Level), manifest.AACLC),
			Width:            w, Height: h, FrameRate: clipRate,
		})
	}
	text, err := audio.playlist().HLS()
	write(t, filepath.Join(root, "v3", "playlist.m3u8"), text, err)
	text, err = subs.HLS()
	write(t, filepath.Join(root, "subs", "playlist.m3u8"), text, err)
	text, err = m.HLS()
	write(t, filepath.Join(root, "master.m3u8"), text, err)

	// DASH over the same segments.
	vset := manifest.AdaptationSet{ID: 0, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1}
	for i, v := range video {
		vset.Representations = append(vset.Representations, manifest.Representation{
			ID: v.dir, Bandwidth: v.rates(t).Peak, Codecs: strings.Split(m.Variants[i].Codecs, ",")[0],
			Width: m.Variants[i].Width, Height: m.Variants[i].Height, FrameRate: fmt.Sprint(clipRate), Sar: "1:1",
			SegmentTemplate: v.template(),
		})
		vset.MaxWidth, vset.MaxHeight = max(vset.MaxWidth, m.Variants[i].Width), max(vset.MaxHeight, m.Variants[i].Height)
	}
	mpd := manifest.MPD{
		MediaPresentationDuration: manifest.DurationOf(video[0].total()),
		MaxSegmentDuration:        manifest.DurationOf(1),
		MinBufferTime:             manifest.DurationOf(2),
		Periods: []manifest.Period{{ID: "0", AdaptationSets: []manifest.AdaptationSet{
			vset,
			{ID: 1, ContentType: "audio", MimeType: "audio/mp4", Lang: "en", SegmentAlignment: true, StartWithSAP: 1,
				Roles: []manifest.Descriptor{{SchemeIDURI: manifest.RoleScheme, Value: "main"}},
				Representations: []manifest.Representation{{
					ID: "v3", Bandwidth: audio.rates(t).Peak, Codecs: manifest.AACLC, AudioSamplingRate: int(audio.info.Timescale),
					AudioChannelConfiguration: &manifest.Descriptor{SchemeIDURI: manifest.ChannelConfigurationScheme, Value: "1"},
					SegmentTemplate:           audio.template(),
				}}},
			{ID: 2, ContentType: "text", MimeType: "text/vtt", Lang: "en",
				Roles:           []manifest.Descriptor{{SchemeIDURI: manifest.RoleScheme, Value: "subtitle"}},
				Representations: []manifest.Representation{{ID: "subs", Bandwidth: 256, BaseURL: "subs.vtt"}}},
		}}},
	}
	text, err = mpd.Encode()
	write(t, filepath.Join(root, "manifest.mpd"), text, err)
	return root, video, audio
}

// dims returns the displayed size of a rendition from ffprobe.
func dims(t *testing.T, dir string) (int, int) {
	t.Helper()
	inits, _ := filepath.Glob(filepath.Join(dir, "init*.mp4"))
	out := strings.TrimSpace(string(fixture.FFprobe(t, "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", inits[0])))
	var w, h int
	if _, err := fmt.Sscanf(out, "%dx%d", &w, &h); err != nil {
		t.Fatalf("ffprobe size %q: %v", out, err)
	}
	return w, h
}

// TestOurManifestsPlay writes chunkcode's own HLS and DASH manifests over
// ffmpeg-made CMAF segments and plays them in Chromium: hls.js and dash.js
// parse them, switch to every rung, decode frames on each and play to the
// end without a stall or a fatal error.
func TestOurManifestsPlay(t *testing.T) {
	browsertest.Require(t)
	root, video, audio := ourLadder(t)

	// The playlists read back, and their durations add up to the clip.
	text, err := os.ReadFile(filepath.Join(root, "master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master.m3u8:\n%s", text)
	master, err := manifest.ParseMaster(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(master.Variants) != 3 || len(master.Audio) != 1 || len(master.Subtitles) != 1 {
		t.Fatalf("master read back: %+v", master)
	}
	for _, v := range append(master.Variants, manifest.Variant{URI: master.Audio[0].URI}) {
		text, err := os.ReadFile(filepath.Join(root, v.URI))
		if err != nil {
			t.Fatal(err)
		}
		p, err := manifest.ParsePlaylist(text)
		if err != nil {
			t.Fatalf("%s: %v", v.URI, err)
		}
		if d := p.Duration(); math.Abs(d-clipSeconds) > 1.0/clipRate {
			t.Errorf("%s: segments add up to %.3fs, want %ds within a frame", v.URI, d, clipSeconds)
		}
	}
	mpdText, err := os.ReadFile(filepath.Join(root, "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.ParseMPD(mpdText); err != nil {
		t.Fatal(err)
	}
	t.Logf("manifest.mpd:\n%s", mpdText)

	for _, tc := range []struct{ name, manifest string }{
		{"HLS with hls.js", "master.m3u8"},
		{"DASH with dash.js", "manifest.mpd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if os.Getenv("KEEP_LADDER") != "" {
				t.Logf("ladder in %s", root)
			}
			r := browsertest.Play(t, root, tc.manifest, browsertest.Options{EndTimeout: 15 * time.Second})
			for _, p := range r.Problems(clipRate) {
				t.Error(p)
			}
			var heights []int
			for _, g := range r.Rungs {
				heights = append(heights, g.Height)
				t.Logf("rung %d: %dx%d %d bit/s %q: frames %d→%d", g.Index, g.Width, g.Height, g.Bandwidth, g.Codecs, g.FramesBefore, g.FramesAfter)
			}
			if !slices.Equal(heights, []int{144, 180, 240}) {
				t.Errorf("rungs %v, want 144, 180, 240", heights)
			}
			if r.Kind == "dash" {
				// dash.js reports the declared bandwidth: the video's peak.
				for i, g := range r.Rungs {
					if want := video[2-i].rates(t).Peak; g.Bandwidth != want {
						t.Errorf("rung %d: bandwidth %d, want %d", i, g.Bandwidth, want)
					}
				}
			}
			t.Logf("%s: ended %v at %.3fs of %.3fs, %d frames, buffered %v, errors %v", r.Kind, r.Ended, r.CurrentTime, r.Duration, r.TotalFrames, r.Buffered, r.Errors)
		})
	}
	_ = audio
}
