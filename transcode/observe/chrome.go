package observe

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Stages drawn on tracks of their own, because they run beside the encode.
const (
	StageAudio   = "audio"
	StagePrepare = "staging" // the backend's preparation: staging the source
)

// track is a row of a Chrome trace or a timeline.
type track struct {
	id   int
	name string
}

// tracks assigns each span a track: the run and the stages that follow one
// another share track 0, "run"; a segment attempt is on its worker's
// track, 1…workers; the audio and the staging, which run beside the encode,
// have one each after the workers; any other span is on its parent's, or
// on a last track, "other", when its parent is not among spans. all lists
// the tracks used, in order.
func tracks(spans []SpanData) (of map[string]track, all []track) {
	byID := make(map[string]SpanData, len(spans))
	workers := 0
	for _, s := range spans {
		byID[s.SpanID] = s
		workers = max(workers, s.Worker)
	}
	var find func(s SpanData, depth int) track
	find = func(s SpanData, depth int) track {
		switch {
		case s.Worker > 0:
			return track{s.Worker, fmt.Sprintf("worker %d", s.Worker)}
		case s.Stage == StageAudio:
			return track{workers + 1, "audio"}
		case s.Stage == StagePrepare:
			return track{workers + 2, "staging"}
		case s.Kind == KindRun || s.Kind == KindStage:
			return track{0, "run"}
		}
		if p, ok := byID[s.ParentID]; ok && depth < len(spans) {
			return find(p, depth+1)
		}
		return track{workers + 3, "other"}
	}
	of = make(map[string]track, len(spans))
	seen := map[int]bool{}
	for _, s := range spans {
		t := find(s, 0)
		of[s.SpanID] = t
		if !seen[t.id] {
			seen[t.id] = true
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b track) int { return a.id - b.id })
	return of, all
}

// label is what a span is called on a track.
func label(s SpanData) string {
	if s.Kind == KindAttempt {
		if s.Attempt > 1 {
			return fmt.Sprintf("segment %d (attempt %d)", s.Segment, s.Attempt)
		}
		return fmt.Sprintf("segment %d", s.Segment)
	}
	return s.Name
}

// chromeEvent is one event of the Chrome trace-event format.
type chromeEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	TS   float64        `json:"ts"` // microseconds
	Dur  *float64       `json:"dur,omitempty"`
	PID  int            `json:"pid"`
	TID  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteChromeTrace writes spans as Chrome trace-event JSON, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open: one complete event ("ph":
// "X") per span, with times from the first span's start, on the tracks
// tracks assigns, named by metadata events.
func WriteChromeTrace(w io.Writer, spans []SpanData) error {
	of, all := tracks(spans)
	var t0 time.Time
	for _, s := range spans {
		if t0.IsZero() || s.Start.Before(t0) {
			t0 = s.Start
		}
	}
	events := []chromeEvent{{Name: "process_name", Ph: "M", PID: 1, Args: map[string]any{"name": "chunkcode"}}}
	for _, t := range all {
		events = append(events,
			chromeEvent{Name: "thread_name", Ph: "M", PID: 1, TID: t.id, Args: map[string]any{"name": t.name}},
			chromeEvent{Name: "thread_sort_index", Ph: "M", PID: 1, TID: t.id, Args: map[string]any{"sort_index": t.id}})
	}
	sorted := slices.Clone(spans)
	// Parents before children that start at the same time, so viewers nest them.
	slices.SortStableFunc(sorted, func(a, b SpanData) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return b.End.Compare(a.End)
	})
	for _, s := range sorted {
		args := map[string]any{"trace_id": s.TraceID, "span_id": s.SpanID}
		if s.ParentID != "" {
			args["parent_id"] = s.ParentID
		}
		for k, v := range s.Attrs {
			args[k] = v
		}
		if s.Failed {
			args["error"] = s.Err
		}
		dur := float64(s.End.Sub(s.Start).Nanoseconds()) / 1e3
		events = append(events, chromeEvent{
			Name: label(s), Cat: string(s.Kind), Ph: "X", TS: float64(s.Start.Sub(t0).Nanoseconds()) / 1e3,
			Dur: &dur, PID: 1, TID: of[s.SpanID].id, Args: args,
		})
	}
	enc := json.NewEncoder(w)
	return enc.Encode(struct {
		TraceEvents     []chromeEvent `json:"traceEvents"`
		DisplayTimeUnit string        `json:"displayTimeUnit"`
	}{events, "ms"})
}
