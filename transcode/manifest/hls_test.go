package manifest

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func ladderMaster() Master {
	return Master{
		Variants: []Variant{
			{URI: "1080p/index.m3u8", Bandwidth: 6_912_000, AverageBandwidth: 4_100_000, Codecs: Codecs(AVCCodec(0x64, 0, 0x28), AACLC), Width: 1920, Height: 1080, FrameRate: 30},
			{URI: "720p/index.m3u8", Bandwidth: 3_400_500, AverageBandwidth: 2_000_000, Codecs: "avc1.64001f,mp4a.40.2", Width: 1280, Height: 720, FrameRate: 29.97},
			{URI: "360p/index.m3u8", Bandwidth: 700_000, AverageBandwidth: 410_000, Codecs: "avc1.64001e,mp4a.40.2", Width: 640, Height: 360, FrameRate: 30},
		},
		Audio: []Rendition{
			{URI: "audio-en/index.m3u8", Language: "en", Name: "English"},
			{URI: "audio-fr/index.m3u8", Language: "fr", Name: "Français"},
		},
		Subtitles: []Rendition{{URI: "subs-en/index.m3u8", Language: "en", Name: "English"}},
	}
}

func TestMasterHLS(t *testing.T) {
	text, err := ladderMaster().HLS()
	if err != nil {
		t.Fatal(err)
	}
	got := string(text)
	t.Logf("\n%s", got)
	want := `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",DEFAULT=YES,AUTOSELECT=YES,LANGUAGE="en",URI="audio-en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Français",DEFAULT=NO,AUTOSELECT=YES,LANGUAGE="fr",URI="audio-fr/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=NO,AUTOSELECT=YES,LANGUAGE="en",URI="subs-en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=6912000,AVERAGE-BANDWIDTH=4100000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,AUDIO="audio",SUBTITLES="subs",FRAME-RATE=30.000
1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3400500,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="audio",SUBTITLES="subs",FRAME-RATE=29.970
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=700000,AVERAGE-BANDWIDTH=410000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio",SUBTITLES="subs",FRAME-RATE=30.000
360p/index.m3u8
`
	if got != want {
		t.Errorf("master playlist:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "PROGRAM-ID") {
		t.Error("master playlist has PROGRAM-ID")
	}
}

func TestMasterRoundTrip(t *testing.T) {
	m := ladderMaster()
	text, err := m.HLS()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseMaster(text)
	if err != nil {
		t.Fatalf("ParseMaster: %v\n%s", err, text)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, m)
	}
}

func TestMasterWithoutRenditions(t *testing.T) {
	m := Master{Variants: ladderMaster().Variants[:1]}
	m.Variants[0].Codecs = AVCCodec(0x64, 0, 0x28)
	text, err := m.HLS()
	if err != nil {
		t.Fatal(err)
	}
	for _, no := range []string{"AUDIO=", "SUBTITLES=", "EXT-X-MEDIA"} {
		if strings.Contains(string(text), no) {
			t.Errorf("master playlist without renditions has %s:\n%s", no, text)
		}
	}
}

func TestMasterInvalid(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Master)
		mention string
	}{
		{"no variant", func(m *Master) { m.Variants = nil }, "without a variant"},
		{"zero bandwidth", func(m *Master) { m.Variants[1].Bandwidth = 0 }, "variant 1: BANDWIDTH 0"},
		{"average above peak", func(m *Master) { m.Variants[0].AverageBandwidth = 7_000_000 }, "AVERAGE-BANDWIDTH 7000000 above"},
		{"no codecs", func(m *Master) { m.Variants[2].Codecs = "" }, "no CODECS"},
		{"no resolution", func(m *Master) { m.Variants[0].Height = 0 }, "RESOLUTION 1920x0"},
		{"no frame rate", func(m *Master) { m.Variants[0].FrameRate = 0 }, "FRAME-RATE"},
		{"audio without a name", func(m *Master) { m.Audio[1].Name = "" }, "audio rendition 1 has no NAME"},
		{"quote in a name", func(m *Master) { m.Subtitles[0].Name = `say "hi"` }, "quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ladderMaster()
			tt.edit(&m)
			_, err := m.HLS()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("HLS() = %v, want ErrInvalid mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestPlaylistHLS(t *testing.T) {
	p := Playlist{Init: "init.mp4", Segments: []Segment{
		{URI: "seg0.m4s", Duration: 6.006}, {URI: "seg1.m4s", Duration: 6.006}, {URI: "seg2.m4s", Duration: 2.5},
	}}
	text, err := p.HLS()
	if err != nil {
		t.Fatal(err)
	}
	want := `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-TARGETDURATION:6
#EXTINF:6.006,
seg0.m4s
#EXTINF:6.006,
seg1.m4s
#EXTINF:2.500,
seg2.m4s
#EXT-X-ENDLIST
`
	if string(text) != want {
		t.Errorf("media playlist:\n%s\nwant:\n%s", text, want)
	}
	back, err := ParsePlaylist(text)
	if err != nil {
		t.Fatal(err)
	}
	if back.Init != p.Init || len(back.Segments) != len(p.Segments) {
		t.Fatalf("round trip: %+v, want %+v", back, p)
	}
	for i, s := range back.Segments {
		if s.URI != p.Segments[i].URI || math.Abs(s.Duration-p.Segments[i].Duration) > 0.0005 {
			t.Errorf("segment %d: %+v, want %+v", i, s, p.Segments[i])
		}
	}
}

func TestTargetDuration(t *testing.T) {
	tests := []struct {
		name      string
		durations []float64
		want      int
	}{
		{"rounds down below half", []float64{6.4, 6.0}, 6},
		{"rounds up from half", []float64{6.0, 6.5}, 7},
		{"short segments still 1", []float64{0.3}, 1},
		{"the longest wins", []float64{2, 4.01, 10.2, 3}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Playlist
			for _, d := range tt.durations {
				p.Segments = append(p.Segments, Segment{URI: "s.m4s", Duration: d})
			}
			if got := p.TargetDuration(); got != tt.want {
				t.Errorf("TargetDuration = %d, want %d", got, tt.want)
			}
			text, err := p.HLS()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParsePlaylist(text); err != nil {
				t.Errorf("ParsePlaylist of our own playlist: %v", err)
			}
		})
	}
}

func TestParsePlaylistRejects(t *testing.T) {
	tests := []struct{ name, text string }{
		{"target duration too short", "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.6,\na.m4s\n#EXT-X-ENDLIST\n"},
		{"not ended", "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.m4s\n"},
		{"live, not VOD", "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.m4s\n#EXT-X-ENDLIST\n"},
		{"a master playlist", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePlaylist([]byte(tt.text)); err == nil {
				t.Errorf("ParsePlaylist accepted:\n%s", tt.text)
			}
		})
	}
}

func TestPlaylistInvalid(t *testing.T) {
	for name, p := range map[string]Playlist{
		"no segment":    {Init: "init.mp4"},
		"zero duration": {Segments: []Segment{{URI: "a.m4s"}}},
		"no URI":        {Segments: []Segment{{Duration: 1}}},
	} {
		if _, err := p.HLS(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: HLS() = %v, want ErrInvalid", name, err)
		}
	}
}

func TestAVCCodec(t *testing.T) {
	tests := []struct {
		profile, constraints, level byte
		want                        string
	}{
		{0x64, 0x00, 0x1f, "avc1.64001f"}, // High 3.1
		{0x42, 0xc0, 0x1e, "avc1.42c01e"}, // Constrained Baseline 3.0
		{0x4d, 0x40, 0x28, "avc1.4d4028"}, // Main 4.0
		{0x64, 0x00, 0x0c, "avc1.64000c"}, // High 1.2
	}
	for _, tt := range tests {
		if got := AVCCodec(tt.profile, tt.constraints, tt.level); got != tt.want {
			t.Errorf("AVCCodec(%#x, %#x, %#x) = %q, want %q", tt.profile, tt.constraints, tt.level, got, tt.want)
		}
	}
	if got := Codecs("avc1.64001f", "", AACLC); got != "avc1.64001f,mp4a.40.2" {
		t.Errorf("Codecs = %q", got)
	}
}
