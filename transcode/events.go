package transcode

import "github.com/chunkcode/chunkcode/splitter"

// EventKind says what an Event reports.
type EventKind int

// Event kinds, in the order a run produces them.
const (
	EventPlanned EventKind = iota // Summary holds the plan's totals
	EventFrames                   // Frames more frames are done (negative after a retry)
	EventSegment                  // a segment is finished: Segment, Result
	EventRetry                    // a segment failed and will be retried: Segment, Err
	EventStage                    // a stage started: Stage
	EventWarning                  // something went wrong that does not fail the run: Err
	EventAudio                    // the audio encode has reached Seconds of Total
)

// Event reports progress. Events are delivered one at a time.
type Event struct {
	Kind    EventKind
	Summary *Summary
	Frames  int
	Segment splitter.Segment
	Result  Result
	Resumed bool
	Err     error
	Stage   Stage
	// Seconds and Total are, for EventAudio, how much of the audio is
	// encoded and how long it is. A resumed or finished encode reports
	// Seconds equal to Total.
	Seconds, Total float64
	// TraceID is the run's trace ID in hex (see Pipeline.Recorder), "" when
	// the run is not traced.
	TraceID string
}

// Stage names a step of a run. An EventStage event reports each stage as it
// starts, except StagePlan, which EventPlanned reports; StageDone is last,
// once the output is in place. Stages holds how long each stage took.
type Stage string

// The stages of a run, in order. StageAudio and StagePrepare run beside
// StageEncode.
const (
	StageProbe   Stage = "probe"   // probe the source, or read it with a SourceReader
	StagePlan    Stage = "plan"    // split the source into segments
	StageAudio   Stage = "audio"   // encode the audio once, over the whole file
	StagePrepare Stage = "prepare" // the backend's preparation, such as staging the source
	StageEncode  Stage = "encode"  // encode the segments
	StageMerge   Stage = "merge"   // join segments, audio and the rest of the source
	StageVerify  Stage = "verify"  // check the output against the source
	StageDone    Stage = "done"    // the output is in place
)
