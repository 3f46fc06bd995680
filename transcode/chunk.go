package transcode

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// ChunkJob is one encode chunk of a streaming ladder: a run of source
// frames that one ffmpeg process decodes once and encodes to every rung.
// Locally the pipeline runs it; a function can run the same EncodeChunk.
type ChunkJob struct {
	// Job holds the chunk's frames and timing and the profile (codec,
	// CRF, preset, threads); its Output and Profile.Height are unused.
	Job
	Rungs []ladder.Rung `json:"rungs"`
	// FirstMedia is the ladder-wide number of the chunk's first media
	// segment, counted from 0.
	FirstMedia int `json:"first_media_segment"`
	// KeyFrames are the first frames of the chunk's media segments,
	// counted from its first frame; KeyFrames[0] is 0.
	KeyFrames []int `json:"key_frames"`
	// Starts are the presentation times of those frames in the source
	// video's time base: where each media segment starts.
	Starts []int64 `json:"starts"`
	// TimeBase is the source video's time base.
	TimeBase media.Rational `json:"time_base"`
	// Dir is where EncodeChunk writes: RungDir(rung)/SegmentName(n) for
	// every media segment n and RungDir(rung)/InitName(chunk) for the
	// rung's initialization segment.
	Dir string `json:"-"`
}

// ChunkResult is what EncodeChunk wrote, rung by rung in the order of
// ChunkJob.Rungs.
type ChunkResult struct {
	Index         int          `json:"index"`
	Frames        int          `json:"frames"`
	Rungs         []RungResult `json:"rungs"`
	EncodeSeconds float64      `json:"encode_seconds"`
}

// RungResult is one rung of a chunk: its initialization segment and its
// media segments, measured.
type RungResult struct {
	Init      string         `json:"init"` // relative to ChunkJob.Dir
	Timescale uint32         `json:"timescale"`
	Segments  []MediaSegment `json:"segments"`
}

// MediaSegment is one CMAF media segment as written: its file, relative
// to the ladder's directory, its place on the track's timeline (in the
// track's timescale) and its size.
type MediaSegment struct {
	Number   int    `json:"number"`
	Name     string `json:"name"`
	Start    uint64 `json:"start"`
	Duration uint64 `json:"duration"`
	Frames   int    `json:"frames"`
	Bytes    int64  `json:"bytes"`
}

// MaxRungs is the most rungs a ChunkJob may ask for.
const MaxRungs = 16

// Validate checks the values a chunk job from outside must respect, such as
// one a function receives: the Job's, and rungs, key frames and starts that
// fit the chunk's frames.
func (j *ChunkJob) Validate() error {
	if err := j.Job.Validate(); err != nil {
		return err
	}
	switch {
	case len(j.Rungs) == 0 || len(j.Rungs) > MaxRungs:
		return fmt.Errorf("chunk job has %d rungs, want 1 to %d", len(j.Rungs), MaxRungs)
	case len(j.KeyFrames) == 0 || j.KeyFrames[0] != 0 || len(j.Starts) != len(j.KeyFrames):
		return fmt.Errorf("chunk job key frames %v with %d starts", j.KeyFrames, len(j.Starts))
	case j.FirstMedia < 0:
		return fmt.Errorf("chunk job first media segment %d", j.FirstMedia)
	case j.TimeBase.Num <= 0 || j.TimeBase.Den <= 0:
		return fmt.Errorf("chunk job time base %v", j.TimeBase)
	}
	for i, r := range j.Rungs {
		if r.Height <= 0 || r.Width <= 0 || r.Height%2 != 0 || r.Width%2 != 0 || r.Height > 8192 || r.Width > 8192 || r.MaxrateKbps <= 0 || r.BufsizeKbps <= 0 {
			return fmt.Errorf("chunk job rung %d: %v, bufsize %dk", i, r, r.BufsizeKbps)
		}
	}
	for i := 1; i < len(j.KeyFrames); i++ {
		if j.KeyFrames[i] <= j.KeyFrames[i-1] || j.KeyFrames[i] >= j.Frames || j.Starts[i] <= j.Starts[i-1] {
			return fmt.Errorf("chunk job media segment %d starts on frame %d at %d, after frame %d at %d", i, j.KeyFrames[i], j.Starts[i], j.KeyFrames[i-1], j.Starts[i-1])
		}
	}
	if j.Starts[0] < 0 {
		return fmt.Errorf("chunk job starts at %d", j.Starts[0])
	}
	return nil
}

// RungDir is the directory of a video rung in a ladder, such as "720p".
func RungDir(r ladder.Rung) string { return fmt.Sprintf("%dp", r.Height) }

// SegmentName is the file name of media segment n.
func SegmentName(n int) string { return fmt.Sprintf("seg%d.m4s", n) }

// InitName is the file name of the initialization segment a chunk writes;
// every chunk of a rung writes the same bytes, and the ladder keeps one as
// LadderInit.
func InitName(chunk int) string { return fmt.Sprintf("init-c%d.mp4", chunk) }

// LadderInit is the file name of a rendition's initialization segment.
const LadderInit = "init.mp4"

// EncodeChunk encodes job in one ffmpeg process with r and cuts every
// rung's output into CMAF segments under job.Dir, each starting on its
// media segment's first frame, presented at that frame's time in the
// source. It checks that every rung has job.Frames frames and a keyframe
// at the start of every media segment and nowhere else. workDir holds the
// encoder's outputs until they are cut.
func EncodeChunk(ctx context.Context, r ffmpeg.Runner, job ChunkJob, workDir string, progress ffmpeg.Progress, extraInput ...string) (ChunkResult, error) {
	start := time.Now()
	if err := job.Validate(); err != nil {
		return ChunkResult{}, fmt.Errorf("chunk %d: %w: %v", job.Index, ErrPermanent, err)
	}
	outputs := make([]string, len(job.Rungs))
	for i := range job.Rungs {
		outputs[i] = filepath.Join(workDir, fmt.Sprintf("chunk%d-rung%d.mp4", job.Index, i))
		defer os.Remove(outputs[i])
	}
	if err := r.WithHugePages().Run(ctx, chunkArgs(job, outputs, extraInput), progress); err != nil {
		return ChunkResult{}, fmt.Errorf("encode chunk %d: %w", job.Index, err)
	}
	res := ChunkResult{Index: job.Index, Frames: job.Frames}
	for i, rung := range job.Rungs {
		rr, err := cutRung(job, rung, outputs[i])
		if err != nil {
			return ChunkResult{}, fmt.Errorf("chunk %d, rung %s: %w", job.Index, RungDir(rung), err)
		}
		res.Rungs = append(res.Rungs, rr)
	}
	res.EncodeSeconds = time.Since(start).Seconds()
	return res, nil
}

// cutRung cuts the fragmented MP4 at path, one rung of job, into the
// rung's init segment and media segments, setting each segment's decode
// time so that its first frame is presented at its start in the source.
func cutRung(job ChunkJob, rung ladder.Rung, path string) (RungResult, error) {
	info, err := mp4.ReadInit(path)
	if err != nil {
		return RungResult{}, err
	}
	frags, err := mp4.ReadFragments(path, info)
	if err != nil {
		return RungResult{}, err
	}
	// With frag_keyframe every keyframe starts a fragment: as many
	// fragments as media segments, each starting on a keyframe and
	// holding no other, means keyframes exactly where planned.
	if len(frags) != len(job.KeyFrames) {
		return RungResult{}, fmt.Errorf("%w: %d keyframe fragments, planned %d media segments", ErrShortSegment, len(frags), len(job.KeyFrames))
	}
	dir := filepath.Join(job.Dir, RungDir(rung))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return RungResult{}, err
	}
	rr := RungResult{Init: filepath.Join(RungDir(rung), InitName(job.Index)), Timescale: info.Timescale}
	total := 0
	init, err := mp4.Cut(path, func(i int, piece []byte) error {
		if i >= len(frags) {
			return fmt.Errorf("%w: more moof boxes than fragments", mp4.ErrInvalid)
		}
		fr := frags[i]
		want := job.Frames - job.KeyFrames[i]
		if i+1 < len(frags) {
			want = job.KeyFrames[i+1] - job.KeyFrames[i]
		}
		if fr.Samples != want || !fr.FirstSync || fr.Sync != 1 {
			return fmt.Errorf("%w: media segment %d has %d frames (%d keyframes, first one a keyframe: %v), planned %d with one keyframe first",
				ErrShortSegment, job.FirstMedia+i, fr.Samples, fr.Sync, fr.FirstSync, want)
		}
		total += fr.Samples
		at, err := rescale(job.Starts[i], job.TimeBase, info.Timescale)
		if err != nil {
			return err
		}
		// The first frame is presented Earliest-Start after the decode
		// time; negative composition offsets make that 0.
		lead := uint64(fr.Earliest - int64(fr.Start))
		if fr.Earliest < int64(fr.Start) || lead > at {
			return fmt.Errorf("%w: media segment %d presents from %d, decodes from %d", ErrShortSegment, job.FirstMedia+i, fr.Earliest, fr.Start)
		}
		n := job.FirstMedia + i
		if err := mp4.SetDecodeTime(piece, uint32(n+1), at-lead); err != nil {
			return err
		}
		name := filepath.Join(RungDir(rung), SegmentName(n))
		if err := os.WriteFile(filepath.Join(job.Dir, name), piece, 0o644); err != nil {
			return err
		}
		rr.Segments = append(rr.Segments, MediaSegment{Number: n, Name: name, Start: at, Duration: fr.Duration, Frames: fr.Samples, Bytes: int64(len(piece))})
		return nil
	})
	if err != nil {
		return RungResult{}, err
	}
	if total != job.Frames {
		return RungResult{}, fmt.Errorf("%w: got %d, planned %d", ErrShortSegment, total, job.Frames)
	}
	if err := os.WriteFile(filepath.Join(job.Dir, rr.Init), init, 0o644); err != nil {
		return RungResult{}, err
	}
	return rr, nil
}

// rescale converts ts in time base tb to a count of 1/timescale units,
// rounded to the nearest; it fails on a negative result.
func rescale(ts int64, tb media.Rational, timescale uint32) (uint64, error) {
	v := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(ts), big.NewInt(tb.Num*int64(timescale))), big.NewInt(tb.Den))
	f, _ := v.Float64()
	if f < 0 {
		return 0, fmt.Errorf("timestamp %d in %v is negative", ts, tb)
	}
	// Round half up.
	n := new(big.Int).Quo(new(big.Int).Add(new(big.Int).Mul(v.Num(), big.NewInt(2)), v.Denom()), new(big.Int).Mul(v.Denom(), big.NewInt(2)))
	return n.Uint64(), nil
}
