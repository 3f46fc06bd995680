package benchmarks

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode"
)

// Defaults of the projection when no Lambda run measured the figures.
const (
	// DefaultInvocationOverhead is the assumed cost of one warm Lambda
	// invocation beyond its encode: the call, the function's start of
	// ffmpeg and the first bytes of its S3 reads and writes.
	DefaultInvocationOverhead = 500 * time.Millisecond
	// DefaultStagingThroughput is the assumed throughput to and from S3,
	// in bytes per second (50 MB/s, about 400 Mbit/s).
	DefaultStagingThroughput = 50e6
)

// ProjectOptions configure projections of the wall time on parallel
// Lambdas.
type ProjectOptions struct {
	// Concurrency lists the numbers of parallel Lambdas to project for.
	Concurrency []int
	// InvocationOverhead is used when no Lambda run measured it; 0 means
	// DefaultInvocationOverhead.
	InvocationOverhead time.Duration
	// StagingThroughput, in bytes per second, is used when no Lambda run
	// measured it; 0 means DefaultStagingThroughput.
	StagingThroughput float64
}

// Projection is a predicted, not measured, wall time of one input on
// Concurrency parallel Lambdas:
//
//	wall = probe + plan + staging + max(audio, critical path) + merge + verify
//
// where staging is the input's size over the staging throughput and the
// critical path is the longest Lambda's busy time when the plan for
// Concurrency workers is handed out longest segment first. Each segment costs
// the invocation overhead, plus its frames times the per-frame encode time
// measured on the local segments covering them, plus its projected size over
// the staging throughput (the download). The other stages are the medians of
// the local run it is based on.
type Projection struct {
	Kind        string `json:"kind"` // always "projection"
	Input       string `json:"input"`
	Concurrency int    `json:"concurrency"`
	Segments    int    `json:"segments"`
	// WallSeconds is the projected wall time.
	WallSeconds float64 `json:"wall_seconds"`
	// SpeedupVsFFmpeg is the median plain ffmpeg wall time over
	// WallSeconds; for a ladder, that of the one-process ladder.
	SpeedupVsFFmpeg float64 `json:"speedup_vs_ffmpeg,omitempty"`
	// SpeedupVs, for a ladder, has the speed-up against each baseline's
	// median wall time, by case name.
	SpeedupVs    map[string]float64 `json:"speedup_vs,omitempty"`
	CriticalPath float64            `json:"critical_path_seconds"`
	Staging      float64            `json:"staging_seconds"`
	// Fixed is probe, plan, merge and verify.
	Fixed float64 `json:"fixed_seconds"`
	Audio float64 `json:"audio_seconds"`
	// Basis is the measured case the per-frame times come from.
	Basis              string  `json:"basis"`
	InvocationOverhead float64 `json:"invocation_overhead_seconds"`
	OverheadSource     string  `json:"invocation_overhead_source"` // "measured on lambda" or "assumed"
	StagingThroughput  float64 `json:"staging_bytes_per_second"`
	ThroughputSource   string  `json:"staging_throughput_source"`
	Error              string  `json:"error,omitempty"`
}

// project makes a projection for every input and concurrency.
func project(rep *Report, o ProjectOptions, segDur time.Duration, lad *LadderOptions) []Projection {
	if o.InvocationOverhead <= 0 {
		o.InvocationOverhead = DefaultInvocationOverhead
	}
	if o.StagingThroughput <= 0 {
		o.StagingThroughput = DefaultStagingThroughput
	}
	var out []Projection
	for _, in := range rep.Inputs {
		for _, n := range o.Concurrency {
			var p Projection
			if lad != nil {
				p = projectLadder(rep, in, n, lad, segDur)
			} else {
				p = projectInput(rep, in, n, o, segDur)
			}
			p.Kind, p.Input, p.Concurrency = "projection", in.Name, n
			out = append(out, p)
		}
	}
	return out
}

func projectInput(rep *Report, in InputInfo, n int, o ProjectOptions, segDur time.Duration) Projection {
	var p Projection
	basis, ok := projectionBasis(rep, in, &p)
	if !ok {
		return p
	}

	p.InvocationOverhead, p.OverheadSource = o.InvocationOverhead.Seconds(), "assumed"
	p.StagingThroughput, p.ThroughputSource = o.StagingThroughput, "assumed"
	var overheads, staging []float64
	for _, r := range rep.Runs {
		if r.Input == in.Name && r.Backend == Lambda && !r.Failed() {
			overheads = append(overheads, r.overheads...)
			if r.Stages != nil && r.Stages.Staging > 0 {
				staging = append(staging, r.Stages.Staging)
			}
		}
	}
	if len(overheads) > 0 {
		p.InvocationOverhead, p.OverheadSource = statOf(overheads).Median, "measured on lambda"
	}
	if len(staging) > 0 && in.Bytes > 0 {
		p.StagingThroughput, p.ThroughputSource = float64(in.Bytes)/statOf(staging).Median, "measured on lambda"
	}

	plan, err := splitter.New(in.media, splitter.Options{Workers: n, SegmentDuration: segDur})
	if err != nil {
		p.Error = fmt.Sprintf("plan: %v", err)
		return p
	}
	rates := newFrameRates(basis.results)
	costs := make([]segmentCost, len(plan.Segments))
	for i, s := range plan.Segments {
		enc, bytes := rates.over(s.First, s.Frames)
		costs[i] = segmentCost{frames: s.Frames, seconds: p.InvocationOverhead + enc + bytes/p.StagingThroughput}
	}
	st := basis.Stages
	p.Segments = len(plan.Segments)
	p.CriticalPath = makespan(costs, n)
	p.Staging = float64(in.Bytes) / p.StagingThroughput
	p.Fixed = st.Probe + st.Plan + st.Merge + st.Verify
	p.Audio = st.Audio
	p.WallSeconds = p.Fixed + p.Staging + max(p.Audio, p.CriticalPath)
	if ff := ffmpegMedian(rep.Runs, in.Name); ff > 0 && p.WallSeconds > 0 {
		p.SpeedupVsFFmpeg = ff / p.WallSeconds
	}
	return p
}

// projectionBasis finds the run p of input in projects from and names it
// in p, or says in p's Error why there is none.
func projectionBasis(rep *Report, in InputInfo, p *Projection) (Run, bool) {
	if in.media == nil {
		p.Error = "input could not be probed"
		return Run{}, false
	}
	basis, ok := basisRun(rep.Runs, in.Name)
	if !ok {
		p.Error = "no successful local run to project from"
		return Run{}, false
	}
	p.Basis = fmt.Sprintf("%s, run %d", basis.Case(), basis.Run)
	return basis, true
}

// basisRun picks the local run projections start from: of the case with
// the fewest workers, whose segments ran with the most threads each, as a
// Lambda's would, the successful run with the median wall time.
func basisRun(runs []Run, input string) (Run, bool) {
	var cands []Run
	for _, r := range runs {
		if r.Input != input || r.Backend != Local || r.Failed() || len(r.results) == 0 || r.Stages == nil {
			continue
		}
		if len(cands) > 0 && r.Workers > cands[0].Workers {
			continue
		}
		if len(cands) > 0 && r.Workers < cands[0].Workers {
			cands = cands[:0]
		}
		cands = append(cands, r)
	}
	if len(cands) == 0 {
		return Run{}, false
	}
	slices.SortStableFunc(cands, func(a, b Run) int { return cmp.Compare(a.WallSeconds, b.WallSeconds) })
	return cands[(len(cands)-1)/2], true
}

// ffmpegMedian is the median wall time of the input's plain ffmpeg runs.
func ffmpegMedian(runs []Run, input string) float64 { return medianWall(runs, input, FFmpeg) }

// medianWall is the median wall time of the input's successful runs on
// backend.
func medianWall(runs []Run, input, backend string) float64 {
	var xs []float64
	for _, r := range runs {
		if r.Input == input && r.Backend == backend && !r.Failed() {
			xs = append(xs, r.WallSeconds)
		}
	}
	return statOf(xs).Median
}

// frameRates holds the measured encode seconds and bytes per frame of each
// measured segment, by the segment's first frame.
type frameRates struct {
	first, frames []int
	seconds       []float64 // per frame
	bytes         []float64 // per frame
}

func newFrameRates(results []transcode.Result) frameRates {
	rs := slices.Clone(results)
	slices.SortFunc(rs, func(a, b transcode.Result) int { return a.Index - b.Index })
	var fr frameRates
	first := 0
	for _, r := range rs {
		if r.Frames <= 0 {
			continue
		}
		fr.first = append(fr.first, first)
		fr.frames = append(fr.frames, r.Frames)
		fr.seconds = append(fr.seconds, r.EncodeSeconds/float64(r.Frames))
		fr.bytes = append(fr.bytes, float64(r.Bytes)/float64(r.Frames))
		first += r.Frames
	}
	return fr
}

// over returns the encode seconds and bytes the measured rates give frames
// [first, first+n). Frames past the measured ones cost the last rate.
func (fr frameRates) over(first, n int) (seconds, bytes float64) {
	end := first + n
	for i := range fr.first {
		lo, hi := max(first, fr.first[i]), min(end, fr.first[i]+fr.frames[i])
		if i == len(fr.first)-1 {
			hi = end
		}
		if hi > lo {
			seconds += float64(hi-lo) * fr.seconds[i]
			bytes += float64(hi-lo) * fr.bytes[i]
		}
	}
	return seconds, bytes
}

type segmentCost struct {
	frames  int
	seconds float64
}

// makespan is when the last of n workers finishes when segments are handed
// out as the pipeline does: longest (by frames) first, each to the worker
// free soonest.
func makespan(costs []segmentCost, n int) float64 {
	cs := slices.Clone(costs)
	slices.SortStableFunc(cs, func(a, b segmentCost) int { return b.frames - a.frames })
	free := make([]float64, min(max(n, 1), max(len(cs), 1)))
	for _, c := range cs {
		i := 0
		for j := range free {
			if free[j] < free[i] {
				i = j
			}
		}
		free[i] += c.seconds
	}
	end := 0.0
	for _, f := range free {
		end = math.Max(end, f)
	}
	return end
}
