package transcode

import (
	"fmt"
	"path/filepath"

	"github.com/chunkcode/chunkcode/merger"
	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// Plan is how a run of a Request encodes a probed source, decided before
// any encoding: its segments, how many are encoded at once and the profile
// every encode uses. `chunkcode probe` shows it, and prints the commands it
// makes, without running them.
type Plan struct {
	Split     *splitter.Plan
	Workers   int
	Profile   Profile // with its defaults and, on a backend that shares this machine's cores, Threads filled in
	Container media.Container
}

// NewPlan plans req for src on a backend with props, as Pipeline.Run does:
// req.Output's extension picks the container and the profile's defaults,
// Workers 0 is props.Workers, and on a backend that shares this machine's
// cores each encode gets its share of them unless req.Profile sets
// Threads. Only req's Output, Profile, Workers and SegmentDuration are read.
func NewPlan(src *media.Media, req Request, props Properties) (*Plan, error) {
	container, err := media.ContainerFor(req.Output)
	if err != nil {
		return nil, err
	}
	prof := req.Profile.WithDefaults(container)
	if err := prof.Check(container, req.Output); err != nil {
		return nil, err
	}
	workers := req.Workers
	if workers <= 0 {
		workers = props.Workers
	}
	split, err := splitter.New(src, splitter.Options{Workers: workers, SegmentDuration: req.SegmentDuration})
	if err != nil {
		return nil, fmt.Errorf("%s: plan: %w", req.Input, err)
	}
	if prof.Threads == 0 && props.SharesCores {
		// Fewer segments than workers leave cores to the ones there are.
		prof.Threads = Threads(min(workers, len(split.Segments)))
	}
	return &Plan{Split: split, Workers: workers, Profile: prof, Container: container}, nil
}

// Jobs returns the job of every segment of src, writing into dir under the
// names a run's work directory gives them.
func (p *Plan) Jobs(src *media.Media, dir string) []Job {
	jobs := make([]Job, len(p.Split.Segments))
	for i, s := range p.Split.Segments {
		jobs[i] = NewJob(src, s, p.Profile, p.Container, filepath.Join(dir, segmentName(s.Index)))
	}
	return jobs
}

// AudioFile returns the path in dir of the file a local run encodes src's
// audio into, "" when it encodes none.
func (p *Plan) AudioFile(src *media.Media, dir string) string {
	if len(src.StreamsOf(media.Audio)) == 0 || p.Profile.AudioCodec == media.AudioCopy {
		return ""
	}
	return filepath.Join(dir, "audio"+p.Profile.AudioCodec.Ext())
}

// MergeSpec returns what a local run merges into output once the segments
// of Jobs and the audio of AudioFile are encoded in dir. AudioStart is 0:
// a run reads it from the encoded audio.
func (p *Plan) MergeSpec(src *media.Media, dir, output string) merger.Spec {
	pieces := make([]merger.Piece, len(p.Split.Segments))
	for i, s := range p.Split.Segments {
		pieces[i] = merger.Piece{Path: filepath.Join(dir, segmentName(i)), Duration: p.Split.Duration(s)}
	}
	rotation := 0
	if !rotatesPixels(src.Video, p.Container) {
		rotation = src.Video.Rotation
	}
	return merger.Spec{
		Source: src, Pieces: pieces, Audio: p.AudioFile(src, dir),
		CopyAudio: p.Profile.AudioCodec == media.AudioCopy,
		Container: p.Container, Rotation: rotation, WorkDir: dir, Output: output,
	}
}

// SegmentArgs are the ffmpeg arguments EncodeSegment runs for job on this
// machine.
func SegmentArgs(job Job) []string { return segmentArgs(job, nil) }
