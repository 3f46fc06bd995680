package manifest

import (
	"strings"
	"testing"
)

func TestVTTRoundTrip(t *testing.T) {
	in := "WEBVTT\n\n1\n00:00.100 --> 00:01.900 align:start\nfirst\nline\n\n01:00:02.500 --> 01:00:04.000\nsecond\n"
	cues, err := ParseVTT([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Cue{{0.1, 1.9, "align:start", "first\nline"}, {3602.5, 3604, "", "second"}}
	if len(cues) != len(want) {
		t.Fatalf("cues %+v, want %+v", cues, want)
	}
	for i := range want {
		if cues[i] != want[i] {
			t.Errorf("cue %d: %+v, want %+v", i, cues[i], want[i])
		}
	}
	out := string(VTT(cues, 90000))
	if !strings.Contains(out, "X-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n") ||
		!strings.Contains(out, "00:00:00.100 --> 00:00:01.900 align:start\nfirst\nline\n") {
		t.Errorf("VTT:\n%s", out)
	}
	back, err := ParseVTT([]byte(out))
	if err != nil || len(back) != 2 || back[1] != want[1] {
		t.Errorf("read back %+v, %v", back, err)
	}
	if _, err := ParseVTT([]byte("00:00.000 --> 00:01.000\nx\n")); err == nil {
		t.Error("a file without WEBVTT was read")
	}
}

func TestSplitCues(t *testing.T) {
	cues := []Cue{{Start: 0.5, End: 1.5, Text: "spans"}, {Start: 2, End: 2.5, Text: "second"}, {Start: 9, End: 10, Text: "late"}}
	got := SplitCues(cues, []float64{1, 1, 1})
	texts := func(cs []Cue) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Text)
		}
		return strings.Join(s, ",")
	}
	// A cue spanning a boundary is in both segments; one past the last
	// boundary is in the last segment, which runs to the end.
	for i, want := range []string{"spans", "spans", "second,late"} {
		if texts(got[i]) != want {
			t.Errorf("segment %d: %q, want %q", i, texts(got[i]), want)
		}
	}
}
