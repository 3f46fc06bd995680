package manifest

import (
	"fmt"
	"math"
)

// Rates are a rendition's measured bit rates in bit/s: what BANDWIDTH
// (Peak) and AVERAGE-BANDWIDTH (Mean) declare.
type Rates struct {
	Peak, Mean int
}

// Measure returns the rates of a rendition from its segments' sizes in
// bytes and durations in seconds: Peak is the highest rate of any one
// segment and Mean the total size over the total duration, both rounded
// up to a whole bit/s.
func Measure(sizes []int64, seconds []float64) (Rates, error) {
	if len(sizes) == 0 || len(sizes) != len(seconds) {
		return Rates{}, fmt.Errorf("%w: %d segment sizes for %d durations", ErrInvalid, len(sizes), len(seconds))
	}
	var peak, bits, total float64
	for i, n := range sizes {
		if n < 0 || seconds[i] <= 0 {
			return Rates{}, fmt.Errorf("%w: segment %d: %d bytes in %gs", ErrInvalid, i, n, seconds[i])
		}
		b := 8 * float64(n)
		peak = max(peak, b/seconds[i])
		bits += b
		total += seconds[i]
	}
	return Rates{Peak: int(math.Ceil(peak)), Mean: int(math.Ceil(bits / total))}, nil
}

// Plus returns the rates of two renditions played together, such as a
// video rung and its audio: the sums of the peaks and of the means. When
// their segments do not line up the summed peak is an upper bound of the
// true one, so the declared BANDWIDTH is never below what is measured.
func (r Rates) Plus(o Rates) Rates {
	return Rates{Peak: r.Peak + o.Peak, Mean: r.Mean + o.Mean}
}
