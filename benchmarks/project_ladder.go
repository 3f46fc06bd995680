package benchmarks

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/lambda"
)

// LadderRates are the measured per-frame costs of encoding a ladder:
// decoding the source, and for each rung (highest first) encoding it and
// the bytes it makes.
type LadderRates struct {
	DecodeSecondsPerFrame float64
	Rungs                 []RungRate
}

// RungRate is what one rung of a ladder costs a frame.
type RungRate struct {
	Height                int
	EncodeSecondsPerFrame float64
	BytesPerFrame         float64
}

// LadderModel is what ProjectLadder projects a ladder on Lambda from.
type LadderModel struct {
	Mode lambda.RungMode
	// Concurrency is the number of functions running at once.
	Concurrency int
	// Chunks are the frames of each chunk of the plan for Concurrency
	// functions.
	Chunks []int
	Rates  LadderRates
	// InvocationOverhead is the cost of one invocation beyond its work,
	// in seconds (see DefaultInvocationOverhead).
	InvocationOverhead float64
	// Throughput is how fast a function writes its segments to S3, in
	// bytes per second (see DefaultStagingThroughput).
	Throughput float64
	// Fixed is the probe, the plan and the check of what the functions
	// report; Staging the upload of a local source (0 for an s3://
	// source); Audio the audio encode, which runs beside the video; and
	// Publish the server-side copies into place and the manifests. All in
	// seconds, on the machine that runs chunkcode.
	Fixed, Staging, Audio, Publish float64
	// MemoryMB and Arch price the invocations (lambda.Cost).
	MemoryMB int
	Arch     lambda.Arch
}

// LadderProjection is a predicted, not measured, wall time and cost of a
// ladder encoded on Concurrency functions:
//
//	wall = fixed + staging + max(audio, critical path) + publish
//
// The work is cut into units, one invocation each. With lambda.RungsPerChunk
// a unit is a chunk of f frames, decoded once and encoded to every rung:
//
//	unit = overhead + f × (decode + Σ_r (encode_r + bytes_r / throughput))
//
// With lambda.RungsSplit a unit is one rung r of one chunk, which decodes
// the chunk again:
//
//	unit_r = overhead + f × (decode + encode_r + bytes_r / throughput)
//
// (per-frame seconds and bytes). The critical path is when the busiest of
// Concurrency functions finishes when the units are handed out longest
// first, each to the function free soonest. Each unit is billed its seconds,
// rounded up to the millisecond, at MemoryMB; lambda.CostOfLadder shares a
// per-chunk unit among the rungs by their own terms, f × (encode_r +
// bytes_r / throughput).
type LadderProjection struct {
	Kind        string          `json:"kind"` // always "ladder projection"
	Mode        lambda.RungMode `json:"lambda_rungs"`
	Concurrency int             `json:"concurrency"`
	Chunks      int             `json:"chunks"`
	Invocations int             `json:"invocations"`
	// WallSeconds is the projected wall time.
	WallSeconds  float64 `json:"wall_seconds"`
	CriticalPath float64 `json:"critical_path_seconds"`
	Fixed        float64 `json:"fixed_seconds"`
	Staging      float64 `json:"staging_seconds"`
	Audio        float64 `json:"audio_seconds"`
	Publish      float64 `json:"publish_seconds"`
	// Cost is the projected Lambda use, per rung and in total.
	Cost lambda.LadderCost `json:"cost"`
}

// ProjectLadder projects the wall time and cost of a ladder on Lambda. It
// fails on a model it cannot project from: no chunk or rung, a chunk
// without frames, no concurrency, throughput or memory, or an unknown
// mode.
func ProjectLadder(m LadderModel) (LadderProjection, error) {
	switch {
	case m.Mode != lambda.RungsPerChunk && m.Mode != lambda.RungsSplit:
		return LadderProjection{}, fmt.Errorf("project ladder: unknown mode %q", m.Mode)
	case m.Concurrency <= 0:
		return LadderProjection{}, errors.New("project ladder: concurrency must be positive")
	case len(m.Chunks) == 0 || len(m.Rates.Rungs) == 0:
		return LadderProjection{}, errors.New("project ladder: no chunk or no rung")
	case m.Throughput <= 0 || m.MemoryMB <= 0:
		return LadderProjection{}, errors.New("project ladder: throughput and memory must be positive")
	}
	rungs := make([]ladder.Rung, len(m.Rates.Rungs))
	for i, r := range m.Rates.Rungs {
		rungs[i] = ladder.Rung{Height: r.Height}
	}
	var units []float64
	var invs []lambda.RungInvocation
	add := func(rung int, own []float64, f float64, work float64) {
		seconds := m.InvocationOverhead + f*m.Rates.DecodeSecondsPerFrame + work
		billed := lambda.BilledDuration(time.Duration(seconds * float64(time.Second)))
		gbs, usd := lambda.Cost(billed, m.MemoryMB, m.Arch)
		units = append(units, seconds)
		inv := lambda.RungInvocation{Rung: rung, RungSeconds: own}
		inv.Stats.BilledSeconds, inv.Stats.GBSeconds, inv.Stats.USD = billed.Seconds(), gbs, usd
		invs = append(invs, inv)
	}
	for i, frames := range m.Chunks {
		if frames <= 0 {
			return LadderProjection{}, fmt.Errorf("project ladder: chunk %d has %d frames", i, frames)
		}
		f := float64(frames)
		own := make([]float64, len(m.Rates.Rungs))
		for r, rate := range m.Rates.Rungs {
			own[r] = f * (rate.EncodeSecondsPerFrame + rate.BytesPerFrame/m.Throughput)
		}
		if m.Mode == lambda.RungsSplit {
			for r := range own {
				add(r, nil, f, own[r])
			}
			continue
		}
		work := 0.0
		for _, o := range own {
			work += o
		}
		add(lambda.AllRungs, own, f, work)
	}
	cost, err := lambda.CostOfLadder(rungs, invs)
	if err != nil {
		return LadderProjection{}, fmt.Errorf("project ladder: %w", err)
	}
	p := LadderProjection{
		Kind: "ladder projection", Mode: m.Mode, Concurrency: m.Concurrency,
		Chunks: len(m.Chunks), Invocations: len(units),
		CriticalPath: longestFirst(units, m.Concurrency),
		Fixed:        m.Fixed, Staging: m.Staging, Audio: m.Audio, Publish: m.Publish,
		Cost: cost,
	}
	p.WallSeconds = p.Fixed + p.Staging + max(p.Audio, p.CriticalPath) + p.Publish
	return p, nil
}

// longestFirst is when the last of n workers finishes when units of the
// given seconds are handed out longest first, each to the worker free
// soonest.
func longestFirst(units []float64, n int) float64 {
	us := slices.Clone(units)
	slices.SortStableFunc(us, func(a, b float64) int { return cmp.Compare(b, a) })
	free := make([]float64, min(n, max(len(us), 1)))
	for _, u := range us {
		i := 0
		for j := range free {
			if free[j] < free[i] {
				i = j
			}
		}
		free[i] += u
	}
	return slices.Max(free)
}
