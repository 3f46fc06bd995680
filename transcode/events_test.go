package transcode_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvents checks what a renderer of progress relies on: every stage is
// reported as it starts, done last once the output is in place; the audio
// reports its progress up to its length; the frames add up to the plan's.
func TestEvents(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 2 * time.Second, Audio: 1})
	out := filepath.Join(t.TempDir(), "out.mp4")
	var (
		stages []transcode.Stage
		audio  []transcode.Event
		frames int
		total  int
	)
	p := &transcode.Pipeline{Notify: func(e transcode.Event) {
		switch e.Kind {
		case transcode.EventStage:
			if e.Stage == transcode.StageDone {
				assert.FileExists(t, out, "done is reported once the output is in place")
			}
			stages = append(stages, e.Stage)
		case transcode.EventPlanned:
			total = e.Summary.Frames
		case transcode.EventFrames:
			frames += e.Frames
		case transcode.EventAudio:
			audio = append(audio, e)
		}
	}}
	_, err := p.Run(context.Background(), request(in, out))
	require.NoError(t, err)

	assert.ElementsMatch(t, []transcode.Stage{transcode.StageProbe, transcode.StageAudio, transcode.StagePrepare,
		transcode.StageEncode, transcode.StageMerge, transcode.StageVerify, transcode.StageDone}, stages)
	assert.Equal(t, transcode.StageProbe, stages[0])
	assert.Equal(t, []transcode.Stage{transcode.StageMerge, transcode.StageVerify, transcode.StageDone}, stages[len(stages)-3:])
	assert.Less(t, slices.Index(stages, transcode.StagePrepare), slices.Index(stages, transcode.StageEncode))

	assert.Equal(t, total, frames, "frames reported")
	require.NotEmpty(t, audio)
	last := audio[len(audio)-1]
	assert.InDelta(t, 2.0, last.Total, 0.1, "the audio's length")
	assert.Equal(t, last.Total, last.Seconds, "the audio ends done")
	for i := 1; i < len(audio); i++ {
		assert.GreaterOrEqual(t, audio[i].Seconds, audio[i-1].Seconds, "audio progress only advances")
	}
}
