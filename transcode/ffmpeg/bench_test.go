package ffmpeg

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/media"
)

// probeJSON returns what `ffprobe -show_format -show_streams -show_chapters
// -show_entries packet=… -of json=c=1` prints for a file of the given length
// with 30 fps H.264 video (B-frames, a keyframe every 2 s) and 48 kHz AAC
// audio, packets interleaved as a muxer writes them.
func probeJSON(seconds int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n    \"packets\": [\n")
	const (
		vDur = 512  // ticks of 1/15360 per frame at 30 fps
		aDur = 1024 // samples per AAC frame at 1/48000
	)
	frames := seconds * 30
	audio := seconds * 48000 / aDur
	first := true
	packet := func(stream int, pts, dts, dur int64, flags string) {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(&b, `        { "stream_index": %d, "pts": %d, "dts": %d, "duration": %d, "flags": "%s" }`, stream, pts, dts, dur, flags)
	}
	a := 0
	for i := range frames {
		// Decode order I P B B: presentation reorders each group of
		// three after the keyframe.
		pts := int64(i)
		switch i % 3 {
		case 1:
			pts = int64(i + 1)
		case 2:
			pts = int64(i - 1)
		}
		flags := "__"
		if i%60 == 0 {
			flags, pts = "K_", int64(i)
		}
		packet(0, pts*vDur, int64(i-2)*vDur, vDur, flags)
		for ; a < audio && int64(a)*aDur*30 <= int64(i)*48000; a++ {
			packet(1, int64(a)*aDur, int64(a)*aDur, aDur, "K_")
		}
	}
	b.WriteString("\n    ],\n")
	b.WriteString(`    "streams": [
        {
            "index": 0, "codec_name": "h264", "codec_type": "video", "width": 1920, "height": 1080,
            "pix_fmt": "yuv420p", "r_frame_rate": "30/1", "time_base": "1/15360", "nb_frames": "` + fmt.Sprint(frames) + `",
            "disposition": { "default": 1, "attached_pic": 0 }, "tags": { "language": "und", "handler_name": "VideoHandler" }
        },
        {
            "index": 1, "codec_name": "aac", "codec_type": "audio", "sample_rate": "48000", "channels": 2,
            "r_frame_rate": "0/0", "time_base": "1/48000", "nb_frames": "` + fmt.Sprint(audio) + `",
            "disposition": { "default": 1, "attached_pic": 0 }, "tags": { "language": "eng", "handler_name": "SoundHandler" }
        }
    ],
    "chapters": [],
    "format": {
        "filename": "in.mp4", "nb_streams": 2, "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
        "start_time": "0.000000", "duration": "` + fmt.Sprint(seconds) + `.000000", "size": "1000000000", "bit_rate": "2000000"
    }
}
`)
	return b.Bytes()
}

// parseProbe is what ProbeURL does with ffprobe's output.
func parseProbe(r io.Reader) (*media.Media, error) {
	info, packets, err := decodeProbe(r)
	if err != nil {
		return nil, err
	}
	m := newMedia(&info)
	addPackets(m, packets)
	return m, nil
}

func TestProbeJSONParses(t *testing.T) {
	m, err := parseProbe(bytes.NewReader(probeJSON(10)))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Frames) != 300 || m.Keyframes() != 5 || m.VideoDuration() != 10 {
		t.Fatalf("got %d frames, %d keyframes, %gs; want 300, 5, 10s", len(m.Frames), m.Keyframes(), m.VideoDuration())
	}
}

// BenchmarkProbeParse parses the probe of a one-hour file: 108,000 video
// and 168,750 audio packets.
func BenchmarkProbeParse(b *testing.B) {
	data := probeJSON(3600)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseProbe(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// progressOutput is what ffmpeg writes on -progress pipe:1 for frames
// frames, one block per frame as at -stats_period on a fast encode.
func progressOutput(frames int) string {
	var b strings.Builder
	for i := 1; i <= frames; i++ {
		fmt.Fprintf(&b, "frame=%d\nfps=120.00\nstream_0_0_q=28.0\nbitrate=1500.0kbits/s\ntotal_size=%d\n"+
			"out_time_us=%d\nout_time_ms=%d\nout_time=00:00:00.000000\ndup_frames=0\ndrop_frames=0\nspeed=4.0x\nprogress=continue\n",
			i, i*6000, i*33333, i*33333, // out_time_ms is in µs too
		)
	}
	b.WriteString("progress=end\n")
	return b.String()
}

// BenchmarkReadProgress reads the progress of a 10,000-frame encode.
func BenchmarkReadProgress(b *testing.B) {
	data := progressOutput(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		readProgress(strings.NewReader(data), frameReport(func(frames int) { n = frames }))
		if n != 10_000 {
			b.Fatalf("read %d frames, want 10000", n)
		}
	}
}
