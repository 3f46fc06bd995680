package mp4_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// TestCutAndSetDecodeTime cuts an ffmpeg-made fragmented MP4 with a
// keyframe every 10 frames into its init and fragments, moves every
// fragment's decode time, and reads the pieces back.
func TestCutAndSetDecodeTime(t *testing.T) {
	fixture.RequireFFmpeg(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "frag.mp4")
	fixture.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1.2",
		"-c:v", "libx264", "-g", "10", "-bf", "2", "-video_track_timescale", "12800",
		"-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", path)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var joined []byte
	var frags []string
	init, err := mp4.Cut(path, func(i int, frag []byte) error {
		joined = append(joined, frag...)
		if err := mp4.SetDecodeTime(frag, uint32(100+i), uint64(1_000_000+5120*i)); err != nil {
			return err
		}
		name := filepath.Join(dir, "seg"+string(rune('a'+i))+".m4s")
		frags = append(frags, name)
		return os.WriteFile(name, frag, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(append([]byte{}, init...), joined...), whole) {
		t.Fatal("the init and the fragments do not make up the file")
	}
	if len(frags) != 3 {
		t.Fatalf("%d fragments, want 3 (30 frames, a keyframe every 10)", len(frags))
	}
	info, err := mp4.ReadInit(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range frags {
		got, err := mp4.ReadFragments(name, info)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Start != uint64(1_000_000+5120*i) || got[0].Samples != 10 || !got[0].FirstSync || got[0].Sync != 1 {
			t.Errorf("fragment %d read back as %+v", i, got)
		}
	}
}
