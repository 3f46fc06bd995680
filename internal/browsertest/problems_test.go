package browsertest

import (
	"strings"
	"testing"
)

func cleanResult() Result {
	return Result{
		Kind: "hls", ManifestParsed: true, Ended: true, CurrentTime: 8, Duration: 8,
		Rungs: []Rung{
			{Index: 0, Height: 144, Switched: true, Rendered: true, FramesBefore: 4, FramesAfter: 14},
			{Index: 1, Height: 240, Switched: true, Rendered: true, FramesBefore: 14, FramesAfter: 30},
		},
		Errors: []PlayerError{{Fatal: false, Type: "mediaError", Details: "bufferSeekOverHole"}},
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Result)
		want string // "" for none
	}{
		{"a clean play with a non-fatal error", func(*Result) {}, ""},
		{"ended within one frame", func(r *Result) { r.CurrentTime = 7.961 }, ""},
		{"ended more than a frame early", func(r *Result) { r.CurrentTime = 7.9 }, "more than one frame"},
		{"not ended", func(r *Result) { r.Ended = false }, "did not reach ended"},
		{"manifest not parsed", func(r *Result) { r.ManifestParsed, r.Rungs = false, nil }, "manifest not parsed"},
		{"no rung", func(r *Result) { r.Rungs = nil }, "no video rung"},
		{"no switch", func(r *Result) { r.Rungs[1].Switched = false }, "rung 1 (240p): no switch reported"},
		{"not rendered", func(r *Result) { r.Rungs[0].Rendered = false }, "rung 0 (144p): not rendered"},
		{"no frames", func(r *Result) { r.Rungs[1].FramesAfter = 14 }, "did not grow"},
		{"fatal error", func(r *Result) {
			r.Errors = append(r.Errors, PlayerError{Fatal: true, Type: "networkError", Details: "fragLoadError", At: 3})
		}, "fatal error networkError fragLoadError at 3.000s"},
		{"stall", func(r *Result) { r.Waiting = []float64{4.5} }, "stalled (waiting) at 4.500s"},
		{"page failure", func(r *Result) { r.Failure = "timed out" }, "page: timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cleanResult()
			tt.edit(&r)
			got := strings.Join(r.Problems(25), "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("Problems = %q, want %q", got, tt.want)
			}
		})
	}
}
