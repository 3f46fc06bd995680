package mp4_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// cmaf encodes a 2 s 25 fps clip with a tone as CMAF with ffmpeg's hls
// muxer, 1 s segments, video and audio in separate renditions, and
// returns the directory: v0/ holds the video, v1/ the audio, each an
// init.mp4 and seg0.m4s, seg1.m4s.
func cmaf(t *testing.T, x264 ...string) string {
	t.Helper()
	fixture.RequireFFmpeg(t)
	dir := t.TempDir()
	args := append([]string{
		"-f", "lavfi", "-i", "testsrc2=size=192x108:rate=25:duration=2",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
		"-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "25", "-sc_threshold", "0",
	}, x264...)
	args = append(args, "-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
		"-hls_fmp4_init_filename", "init.mp4", "-var_stream_map", "v:0 a:0",
		"-hls_segment_filename", filepath.Join(dir, "v%v", "seg%d.m4s"), filepath.Join(dir, "v%v", "index.m3u8"))
	fixture.FFmpeg(t, args...)
	return dir
}

// initFile returns the init segment ffmpeg wrote in a rendition directory
// (init.mp4, or init_N.mp4 when it numbers them).
func initFile(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "init*.mp4"))
	if len(m) != 1 {
		t.Fatalf("init segments in %s: %v", dir, m)
	}
	return m[0]
}

func TestReadAVCConfig(t *testing.T) {
	tests := []struct {
		name        string
		x264        []string
		profile     byte
		constraints byte
		level       byte
		ffprobeName string
	}{
		{"high level 1.2", []string{"-profile:v", "high", "-level", "1.2"}, 0x64, 0x00, 12, "High"},
		{"main level 3.1", []string{"-profile:v", "main", "-level", "3.1"}, 0x4d, 0x40, 31, "Main"},
		{"baseline level 2", []string{"-profile:v", "baseline", "-level", "2"}, 0x42, 0xc0, 20, "Constrained Baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cmaf(t, tt.x264...)
			init := initFile(t, filepath.Join(dir, "v0"))
			got, err := mp4.ReadAVCConfig(init)
			if err != nil {
				t.Fatal(err)
			}
			want := mp4.AVCConfig{Profile: tt.profile, Constraints: tt.constraints, Level: tt.level}
			if got != want {
				t.Errorf("ReadAVCConfig = %+v, want %+v", got, want)
			}
			// ffprobe, reading the init segment with its first media
			// segment, agrees on the profile and level.
			whole := filepath.Join(t.TempDir(), "whole.mp4")
			joined := append(readFile(t, init), readFile(t, filepath.Join(dir, "v0", "seg0.m4s"))...)
			if err := os.WriteFile(whole, joined, 0o644); err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Streams []struct {
					Profile string `json:"profile"`
					Level   int    `json:"level"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(fixture.FFprobe(t, "-show_entries", "stream=profile,level", "-of", "json", whole), &probe); err != nil {
				t.Fatal(err)
			}
			if len(probe.Streams) != 1 || probe.Streams[0].Profile != tt.ffprobeName || probe.Streams[0].Level != int(got.Level) {
				t.Errorf("ffprobe says %+v, avcC says %+v", probe.Streams, got)
			}
		})
	}
}

func TestReadAVCConfigOfAudio(t *testing.T) {
	dir := cmaf(t)
	_, err := mp4.ReadAVCConfig(initFile(t, filepath.Join(dir, "v1")))
	if !errors.Is(err, mp4.ErrInvalid) || !strings.Contains(err.Error(), "avcC") {
		t.Errorf("ReadAVCConfig of an AAC init segment = %v, want ErrInvalid about avcC", err)
	}
}

func TestReadInitAndFragments(t *testing.T) {
	dir := cmaf(t)
	video, err := mp4.ReadInit(initFile(t, filepath.Join(dir, "v0")))
	if err != nil {
		t.Fatal(err)
	}
	audio, err := mp4.ReadInit(initFile(t, filepath.Join(dir, "v1")))
	if err != nil {
		t.Fatal(err)
	}
	if video.Handler != "vide" || video.AVC == nil || audio.Handler != "soun" || audio.Timescale != 48000 {
		t.Fatalf("video init %+v, audio init %+v", video, audio)
	}
	var frames int
	var next uint64
	for i, seg := range []string{"seg0.m4s", "seg1.m4s"} {
		frags, err := mp4.ReadFragments(filepath.Join(dir, "v0", seg), video)
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range frags {
			if fr.TrackID != video.TrackID {
				t.Errorf("%s: track %d, want %d", seg, fr.TrackID, video.TrackID)
			}
			if i > 0 && fr.Start != next {
				t.Errorf("%s starts at %d, the previous one ended at %d", seg, fr.Start, next)
			}
			// One second at 25 fps: 25 frames lasting one timescale.
			if fr.Samples != 25 || fr.Duration != uint64(video.Timescale) {
				t.Errorf("%s: %+v, want 25 samples lasting %d", seg, fr, video.Timescale)
			}
			// x264 veryfast's B-frames delay presentation by two frames
			// (1024 ticks at 12800 Hz) with positive offsets.
			if d := fr.Earliest - int64(fr.Start); d != 2*int64(video.Timescale)/25 {
				t.Errorf("%s: earliest presentation %d ticks after the decode start, want 2 frames", seg, d)
			}
			frames += fr.Samples
			next = fr.Start + fr.Duration
		}
	}
	if frames != 50 {
		t.Errorf("%d frames in the segments, want 50", frames)
	}
	var audioTicks uint64
	segs, _ := filepath.Glob(filepath.Join(dir, "v1", "seg*.m4s"))
	for _, seg := range segs {
		frags, err := mp4.ReadFragments(seg, audio)
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range frags {
			audioTicks += fr.Duration
			if fr.Earliest != int64(fr.Start) {
				t.Errorf("%s: audio presented at %d, decoded at %d", seg, fr.Earliest, fr.Start)
			}
		}
	}
	// Two seconds of AAC in 1024-sample frames: within one frame of 96000.
	if d := int64(audioTicks) - 96000; d < -1024 || d > 1024 {
		t.Errorf("audio lasts %d ticks at 48 kHz, want 96000 ± 1024", audioTicks)
	}
}

func TestReadFragmentsOfAnInitSegment(t *testing.T) {
	dir := cmaf(t)
	init := initFile(t, filepath.Join(dir, "v0"))
	in, err := mp4.ReadInit(init)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mp4.ReadFragments(init, in); !errors.Is(err, mp4.ErrInvalid) {
		t.Errorf("ReadFragments of an init segment = %v, want ErrInvalid", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
