package transcode

import (
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/publish"
)

// Stages holds the seconds each stage took. Encode and Audio run at the same
// time. For a source a SourceReader reads, Probe is the whole read, which
// encodes the audio too, and Audio is 0.
type Stages struct {
	Probe  float64 `json:"probe"`
	Plan   float64 `json:"plan"`
	Encode float64 `json:"encode"`
	Audio  float64 `json:"audio"`
	Merge  float64 `json:"merge"`
	Verify float64 `json:"verify"`
	// Prepare is the backend's preparation, such as staging the source in
	// S3 for Lambda; it runs before Encode, beside Audio.
	Prepare float64 `json:"prepare,omitempty"`
}

// Summary describes a finished run.
type Summary struct {
	Input           string      `json:"input"`
	Output          string      `json:"output"`
	Backend         BackendName `json:"backend"`
	Codec           media.Codec `json:"codec"`
	Workers         int         `json:"workers"`
	Threads         int         `json:"threads_per_worker,omitempty"`
	Segments        int         `json:"segments"`
	KeyframeCuts    int         `json:"keyframe_cuts"`
	ResumedSegments int         `json:"resumed_segments"`
	Frames          int         `json:"frames"`
	Duration        float64     `json:"duration_seconds"`
	Stages          Stages      `json:"stages"`
	WallSeconds     float64     `json:"wall_seconds"`
	Speed           float64     `json:"speed_x_realtime"`
	Retries         int         `json:"retries"`
	// Utilization is the busy worker-seconds of the segment attempts ÷
	// (workers × the encode's wall time), where workers are the slots the
	// encode used: no more than the segments. TailSeconds is the idle
	// tail: from when the first worker went idle for good to the end of
	// the encode. Both are 0 when nothing was encoded.
	Utilization float64 `json:"utilization"`
	TailSeconds float64 `json:"tail_seconds"`
	// TraceID is the run's trace ID in hex, when it was traced.
	TraceID string `json:"trace_id,omitempty"`
	// Warnings are problems that did not fail the run, such as staging
	// objects a backend could not delete.
	Warnings    []string `json:"warnings,omitempty"`
	OutputBytes int64    `json:"output_bytes"`
	WorkDir     string   `json:"work_dir,omitempty"`
	// Results are the segments' results, or a ladder's chunks', whose
	// Bytes add up every rung's media segments.
	Results []Result `json:"segment_results,omitempty"`
	// Remote adds up the Remote values of Results and of the source read,
	// such as a Lambda backend's GB-seconds and estimated cost; nil for a
	// local run.
	Remote *RemoteStats `json:"remote,omitempty"`
	// Manifests are the manifests of a ladder, and Rungs its video
	// renditions, highest first: their sizes from the plan on, their
	// measurements once encoded. Segments then counts encode chunks, and
	// MediaSegments the media segments of SegmentLength seconds each rung
	// is cut into.
	Manifests     []string      `json:"manifests,omitempty"`
	Rungs         []RungSummary `json:"rungs,omitempty"`
	MediaSegments int           `json:"media_segments,omitempty"`
	SegmentLength float64       `json:"segment_length_seconds,omitempty"`
	// Published describes the publish of a ladder to s3://.
	Published *publish.Report `json:"published,omitempty"`
}

// addRemote adds remote, when not nil, to the summary's remote counters.
func addRemote(sum *Summary, remote *RemoteStats) {
	if remote == nil {
		return
	}
	if sum.Remote == nil {
		sum.Remote = &RemoteStats{}
	}
	sum.Remote.Add(*remote)
}
