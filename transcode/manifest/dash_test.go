package manifest

import (
	"encoding/xml"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func ladderMPD() MPD {
	video := func(id string, w, h, bw int, codecs string) Representation {
		return Representation{
			ID: id, Bandwidth: bw, Codecs: codecs, Width: w, Height: h, FrameRate: "25", Sar: "1:1",
			SegmentTemplate: &SegmentTemplate{
				Timescale: 12800, Initialization: id + "/init.mp4", Media: id + "/seg$Number$.m4s", StartNumber: 0,
				SegmentTimeline: NewTimeline(0, []uint64{76800, 76800, 25600}),
			},
		}
	}
	return MPD{
		MediaPresentationDuration: DurationOf(14),
		MaxSegmentDuration:        DurationOf(6),
		MinBufferTime:             DurationOf(2),
		Periods: []Period{{ID: "0", AdaptationSets: []AdaptationSet{
			{ID: 0, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1, MaxWidth: 1280, MaxHeight: 720, Par: "16:9",
				Representations: []Representation{
					video("720p", 1280, 720, 3_000_000, "avc1.64001f"),
					video("360p", 640, 360, 800_000, "avc1.64001e"),
				}},
			{ID: 1, ContentType: "audio", MimeType: "audio/mp4", Lang: "en", SegmentAlignment: true, StartWithSAP: 1,
				Roles: []Descriptor{{SchemeIDURI: RoleScheme, Value: "main"}},
				Representations: []Representation{{
					ID: "audio-en", Bandwidth: 130_000, Codecs: AACLC, AudioSamplingRate: 48000,
					AudioChannelConfiguration: &Descriptor{SchemeIDURI: ChannelConfigurationScheme, Value: "2"},
					SegmentTemplate: &SegmentTemplate{
						Timescale: 48000, Initialization: "audio-en/init.mp4", Media: "audio-en/seg$Number$.m4s", StartNumber: 0,
						SegmentTimeline: NewTimeline(0, []uint64{288768, 287744, 95488}),
					},
				}}},
			{ID: 2, ContentType: "text", MimeType: "text/vtt", Lang: "en",
				Roles:           []Descriptor{{SchemeIDURI: RoleScheme, Value: "subtitle"}},
				Representations: []Representation{{ID: "subs-en", Bandwidth: 256, BaseURL: "subs-en.vtt"}}},
		}}},
	}
}

func TestMPDEncode(t *testing.T) {
	text, err := ladderMPD().Encode()
	if err != nil {
		t.Fatal(err)
	}
	got := string(text)
	t.Logf("\n%s", got)
	for _, want := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>`,
		`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT14S" maxSegmentDuration="PT6S" minBufferTime="PT2S">`,
		`<Period id="0" start="PT0S">`,
		`<AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="1280" maxHeight="720" par="16:9">`,
		`<Representation id="720p" bandwidth="3000000" codecs="avc1.64001f" width="1280" height="720" frameRate="25" sar="1:1">`,
		`<SegmentTemplate timescale="12800" initialization="720p/init.mp4" media="720p/seg$Number$.m4s" startNumber="0">`,
		`<S t="0" d="76800" r="1"></S>`,
		`<S d="25600"></S>`,
		`<Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"></Role>`,
		`<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"></AudioChannelConfiguration>`,
		`<AdaptationSet id="2" contentType="text" mimeType="text/vtt" lang="en">`,
		`<BaseURL>subs-en.vtt</BaseURL>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("MPD lacks %s", want)
		}
	}
	// The schema wants AudioChannelConfiguration before SegmentTemplate,
	// and Role before Representation.
	if strings.Index(got, "<AudioChannelConfiguration") > strings.Index(got, `<SegmentTemplate timescale="48000"`) {
		t.Error("AudioChannelConfiguration after SegmentTemplate")
	}
}

func TestMPDRoundTrip(t *testing.T) {
	m := ladderMPD()
	text, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseMPD(text)
	if err != nil {
		t.Fatalf("ParseMPD: %v\n%s", err, text)
	}
	m.XMLName = xml.Name{Space: MPDNamespace, Local: "MPD"}
	m.Type, m.Profiles = "static", ProfileLive
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, m)
	}
	again, err := back.Encode()
	if err != nil || string(again) != string(text) {
		t.Errorf("second encoding differs (%v):\n%s", err, again)
	}
}

func TestTimeline(t *testing.T) {
	tests := []struct {
		name      string
		start     uint64
		durations []uint64
		runs      int
	}{
		{"equal segments make one run", 0, []uint64{6, 6, 6, 6}, 1},
		{"a shorter last segment", 0, []uint64{6, 6, 6, 2}, 2},
		{"a start time survives", 900, []uint64{5, 6, 6, 5}, 3},
		{"one segment", 3, []uint64{7}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewTimeline(tt.start, tt.durations)
			if len(tl.S) != tt.runs {
				t.Errorf("%d runs, want %d: %+v", len(tl.S), tt.runs, tl.S)
			}
			starts, durations, err := tl.Segments()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(durations, tt.durations) {
				t.Errorf("durations %v, want %v", durations, tt.durations)
			}
			at := tt.start
			for i, s := range starts {
				if s != at {
					t.Errorf("segment %d starts at %d, want %d", i, s, at)
				}
				at += durations[i]
			}
		})
	}
	overlap := SegmentTimeline{S: []S{{T: ptr(uint64(10)), D: 5}, {T: ptr(uint64(12)), D: 5}}}
	if _, _, err := overlap.Segments(); !errors.Is(err, ErrInvalid) {
		t.Errorf("overlapping runs: %v, want ErrInvalid", err)
	}
	open := SegmentTimeline{S: []S{{T: ptr(uint64(0)), D: 5, R: -1}}}
	if _, _, err := open.Segments(); !errors.Is(err, ErrInvalid) {
		t.Errorf("open-ended run: %v, want ErrInvalid", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMPDInvalid(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*MPD)
		mention string
	}{
		{"no duration", func(m *MPD) { m.MediaPresentationDuration = 0 }, "mediaPresentationDuration"},
		{"no period", func(m *MPD) { m.Periods = nil }, "without a Period"},
		{"empty adaptation set", func(m *MPD) { m.Periods[0].AdaptationSets[1].Representations = nil }, "AdaptationSet 1 without"},
		{"duplicate id", func(m *MPD) { m.Periods[0].AdaptationSets[0].Representations[1].ID = "720p" }, `"720p" used twice`},
		{"zero bandwidth", func(m *MPD) { m.Periods[0].AdaptationSets[0].Representations[0].Bandwidth = 0 }, "bandwidth 0"},
		{"no addressing", func(m *MPD) { m.Periods[0].AdaptationSets[2].Representations[0].BaseURL = "" }, "neither"},
		{"template without number", func(m *MPD) {
			m.Periods[0].AdaptationSets[0].Representations[0].SegmentTemplate.Media = "seg.m4s"
		}, "media"},
		{"template without timeline", func(m *MPD) {
			m.Periods[0].AdaptationSets[0].Representations[0].SegmentTemplate.SegmentTimeline = nil
		}, "without a SegmentTimeline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ladderMPD()
			tt.edit(&m)
			if _, err := m.Encode(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Encode() = %v, want ErrInvalid mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestParseMPDRejects(t *testing.T) {
	good, err := ladderMPD().Encode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, text string }{
		{"dynamic", strings.Replace(string(good), `type="static"`, `type="dynamic"`, 1)},
		{"bad duration", strings.Replace(string(good), `mediaPresentationDuration="PT14S"`, `mediaPresentationDuration="14s"`, 1)},
		{"not XML", "#EXTM3U\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseMPD([]byte(tt.text)); err == nil {
				t.Errorf("ParseMPD accepted it")
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		text    string
		seconds float64
		canon   string
	}{
		{"PT0S", 0, "PT0S"},
		{"PT6.006S", 6.006, "PT6.006S"},
		{"PT1H2M3.5S", 3723.5, "PT1H2M3.5S"},
		{"PT90M", 5400, "PT1H30M"},
		{"P1DT1S", 86401, "PT24H1S"},
		{"PT0.04S", 0.04, "PT0.04S"},
	}
	for _, tt := range tests {
		d, err := parseDuration(tt.text)
		if err != nil {
			t.Errorf("parse %q: %v", tt.text, err)
			continue
		}
		if d.Seconds() != tt.seconds || d.String() != tt.canon {
			t.Errorf("%q: %gs %q, want %gs %q", tt.text, d.Seconds(), d.String(), tt.seconds, tt.canon)
		}
	}
	for _, bad := range []string{"", "P", "PT", "6S", "PT-1S", "P1Y", "PT1D", "PTxS"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
}
