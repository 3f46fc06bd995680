package lambda

import (
	"fmt"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
)

// RungMode says how a ladder's encodes are spread over invocations.
type RungMode string

// The ways a ladder is encoded on Lambda (--lambda-rungs).
const (
	// RungsPerChunk gives each chunk one invocation, which decodes it
	// once and encodes every rung. It is the default.
	RungsPerChunk RungMode = "chunk"
	// RungsSplit gives each rung of each chunk an invocation of its own:
	// more invocations in parallel, each decoding its chunk again.
	RungsSplit RungMode = "split"
)

// ParseRungMode reads a --lambda-rungs value: "chunk" (or "") or "split".
func ParseRungMode(s string) (RungMode, error) {
	switch RungMode(s) {
	case "", RungsPerChunk:
		return RungsPerChunk, nil
	case RungsSplit:
		return RungsSplit, nil
	}
	return "", fmt.Errorf("%q is not chunk (one invocation encodes every rung of a chunk) or split (one invocation per rung per chunk)", s)
}

// AllRungs is the RungInvocation.Rung of an invocation that encoded every
// rung of its chunk.
const AllRungs = -1

// RungInvocation is what one invocation of a ladder encode reported, for
// its cost: a retried or failed attempt is billed too, and counts.
type RungInvocation struct {
	// Rung is the index of the rung the invocation encoded, or AllRungs.
	Rung int
	// RungSeconds, for an invocation of AllRungs, is the time it spent on
	// each rung, such as each encoder's CPU seconds, by which its cost is
	// shared among the rungs. When nil, or all zero, the cost is shared by
	// the rungs' pixels a frame.
	RungSeconds []float64
	// Stats are the invocation's billed time and cost, as the Lambda
	// backend reports them (transcode.Result.Remote); their GB-seconds and
	// USD are 0 when the function's memory size is not known.
	Stats transcode.RemoteStats
}

// RungCost is the Lambda use of one rung of a ladder, or of the whole
// ladder. The USD, like RemoteStats.USD, is estimated from the published
// prices.
type RungCost struct {
	// Height is the rung's height; 0 in a total.
	Height int `json:"height,omitempty"`
	// Invocations counts the invocations that encoded the rung, each
	// once: with RungsPerChunk every invocation encodes every rung, so
	// the rungs' counts add up to more than the total's.
	Invocations   int     `json:"invocations"`
	BilledSeconds float64 `json:"billed_seconds"`
	GBSeconds     float64 `json:"gb_seconds"`
	USD           float64 `json:"usd"`
}

// LadderCost is the Lambda use of a ladder, per rung and in total. The
// rungs' billed seconds, GB-seconds and USD add up to the total's.
type LadderCost struct {
	Rungs []RungCost `json:"rungs"`
	Total RungCost   `json:"total"`
}

// CostOfLadder adds up the cost of the invocations that encoded rungs
// (highest first, as ladder.Auto returns them) per rung and in total. An
// invocation of one rung is that rung's; one of AllRungs is shared among
// the rungs by its RungSeconds, or by their pixels a frame. It fails on an
// invocation naming a rung that is not in rungs, or RungSeconds that are
// not one a rung.
func CostOfLadder(rungs []ladder.Rung, invs []RungInvocation) (LadderCost, error) {
	c := LadderCost{Rungs: make([]RungCost, len(rungs))}
	pixels := make([]float64, len(rungs))
	for i, r := range rungs {
		c.Rungs[i].Height = r.Height
		w := r.Width
		if w <= 0 {
			w = r.Height
		}
		pixels[i] = float64(w) * float64(r.Height)
	}
	for n, inv := range invs {
		share := make([]float64, len(rungs))
		switch {
		case inv.Rung == AllRungs && inv.RungSeconds != nil && len(inv.RungSeconds) != len(rungs):
			return LadderCost{}, fmt.Errorf("invocation %d: %d rung times for %d rungs", n, len(inv.RungSeconds), len(rungs))
		case inv.Rung == AllRungs:
			weights := pixels
			if sum(inv.RungSeconds) > 0 {
				weights = inv.RungSeconds
			}
			total := sum(weights)
			for i, w := range weights {
				if total > 0 {
					share[i] = w / total
				}
			}
		case inv.Rung < 0 || inv.Rung >= len(rungs):
			return LadderCost{}, fmt.Errorf("invocation %d: rung %d of a ladder of %d", n, inv.Rung, len(rungs))
		default:
			share[inv.Rung] = 1
		}
		for i, s := range share {
			if inv.Rung == AllRungs || i == inv.Rung {
				c.Rungs[i].Invocations++
			}
			c.Rungs[i].BilledSeconds += s * inv.Stats.BilledSeconds
			c.Rungs[i].GBSeconds += s * inv.Stats.GBSeconds
			c.Rungs[i].USD += s * inv.Stats.USD
		}
		c.Total.Invocations++
		c.Total.BilledSeconds += inv.Stats.BilledSeconds
		c.Total.GBSeconds += inv.Stats.GBSeconds
		c.Total.USD += inv.Stats.USD
	}
	return c, nil
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}
