package transcode_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/observe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrace runs the pipeline with a Recorder that keeps spans and a
// segment that fails once: one trace with the run at its root, a span per
// stage, one per attempt on a worker slot with the failed one in error,
// events stamped with the trace, and the summary's utilization and idle
// tail from the same attempts.
func TestTrace(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	out := filepath.Join(t.TempDir(), "out.mp4")
	rec, err := observe.New(t.Context(), observe.Options{Keep: true})
	require.NoError(t, err)
	var untraced []transcode.Event
	p := &transcode.Pipeline{
		Backend:  &flaky{Backend: &transcode.Local{}, segment: 1, fails: 1},
		Recorder: rec,
		Notify: func(e transcode.Event) {
			if e.TraceID == "" {
				untraced = append(untraced, e)
			}
		},
	}
	sum, err := p.Run(context.Background(), request(in, out))
	require.NoError(t, err)
	assert.Empty(t, untraced, "events without the trace ID")

	spans := rec.Spans()
	byName := map[string][]observe.SpanData{}
	ids := map[string]observe.SpanData{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
		ids[s.SpanID] = s
		assert.Equal(t, sum.TraceID, s.TraceID, "span %s in the run's trace", s.Name)
	}
	require.Len(t, byName["run"], 1)
	assert.Empty(t, byName["run"][0].ParentID, "the run is the root")
	for _, stage := range []string{"probe", "plan", "audio", "staging", "encode", "merge", "verify"} {
		if assert.Len(t, byName[stage], 1, "%s spans", stage) {
			assert.Equal(t, observe.KindStage, byName[stage][0].Kind)
			assert.Equal(t, "run", ids[byName[stage][0].ParentID].Name, "%s's parent", stage)
		}
	}
	attempts := byName[observe.NameSegment]
	assert.Len(t, attempts, sum.Segments+1, "an attempt per segment and the retry")
	failed := 0
	for _, a := range attempts {
		assert.Equal(t, "encode", ids[a.ParentID].Name, "an attempt's parent")
		assert.Equal(t, "local", a.Backend)
		assert.Positive(t, a.Frames)
		assert.True(t, a.Worker == 1 || a.Worker == 2, "worker slot %d of 2", a.Worker)
		if a.Failed {
			failed++
			assert.Equal(t, 2, a.Segment, "the failed segment, from 1")
			assert.Equal(t, 1, a.Attempt)
			assert.Contains(t, a.Err, errInjected.Error())
		}
		if a.Segment == 2 && a.Attempt == 2 {
			assert.False(t, a.Failed, "the retry passed")
		}
	}
	assert.Equal(t, 1, failed, "failed attempts")

	tl := observe.NewTimeline(spans)
	assert.Equal(t, 2, tl.Workers)
	assert.Greater(t, sum.Utilization, 0.0)
	assert.LessOrEqual(t, sum.Utilization, 1.0)
	assert.GreaterOrEqual(t, sum.TailSeconds, 0.0)
	assert.Less(t, sum.TailSeconds, sum.Stages.Encode+1e-9)
	// The spans say the same, within the time between the pipeline's
	// clock readings and the spans'.
	assert.InDelta(t, sum.Utilization, tl.Utilization(), 0.05)
}

// TestUntraced: without a Recorder the run has no trace, and its summary
// still has its utilization.
func TestUntraced(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	out := filepath.Join(t.TempDir(), "out.mp4")
	sum, err := run(t, request(in, out), nil)
	require.NoError(t, err)
	assert.Empty(t, sum.TraceID)
	assert.Greater(t, sum.Utilization, 0.0)
}

// TestTraceLadder: a ladder run is one trace too, with the run at its root,
// a span per stage under it, the audio's included, and a span per chunk
// attempt on its worker slot.
func TestTraceLadder(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	out := filepath.Join(t.TempDir(), "ladder", transcode.DefaultMaster)
	rec, err := observe.New(t.Context(), observe.Options{Keep: true})
	require.NoError(t, err)
	p := &transcode.Pipeline{Recorder: rec}
	_, err = p.Run(context.Background(), ladderRequest(in, out, "120"))
	require.NoError(t, err)

	byName := map[string][]observe.SpanData{}
	ids := map[string]observe.SpanData{}
	for _, s := range rec.Spans() {
		byName[s.Name] = append(byName[s.Name], s)
		ids[s.SpanID] = s
	}
	require.Len(t, byName["run"], 1)
	for _, stage := range []string{"probe", "plan", "staging", "encode", "audio", "merge", "verify"} {
		if assert.Len(t, byName[stage], 1, "%s spans", stage) {
			assert.Equal(t, byName["run"][0].TraceID, byName[stage][0].TraceID, "%s in the run's trace", stage)
			assert.False(t, byName[stage][0].Failed, stage)
		}
	}
	attempts := byName[observe.NameSegment]
	if assert.NotEmpty(t, attempts, "a span per chunk attempt") {
		for _, a := range attempts {
			assert.Equal(t, "encode", ids[a.ParentID].Name, "an attempt's parent")
			assert.True(t, a.Worker == 1 || a.Worker == 2, "worker slot %d of 2", a.Worker)
			assert.Positive(t, a.Frames)
		}
	}
	if len(byName["audio"]) == 1 {
		assert.Equal(t, "encode", ids[byName["audio"][0].ParentID].Name, "the audio runs beside the chunks, in the encode")
	}
}
