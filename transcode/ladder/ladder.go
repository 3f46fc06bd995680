// Package ladder chooses the renditions of an adaptive-bitrate ladder: the
// height, width and rate cap of every rung. It starts no process and reads
// no file.
package ladder

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A Rung is one rendition of a ladder. Height and Width are the displayed
// size in pixels, both even. MaxrateKbps caps the encoder's rate (capped
// CRF) and BufsizeKbps, twice the maxrate, is the rate-control buffer.
type Rung struct {
	Height, Width            int
	MaxrateKbps, BufsizeKbps int
}

// String returns the rung as "720p 1280x720 max 4500k".
func (r Rung) String() string {
	return fmt.Sprintf("%dp %dx%d max %dk", r.Height, r.Width, r.Height, r.MaxrateKbps)
}

// published is the 16:9 ladder Auto takes its rungs from, highest first.
// Heights from 234 to 1080 and their rates are the H.264 rows of Apple's HLS
// Authoring Specification for Apple Devices (416x234 145k up to 1920x1080
// 7800k); where it lists two rates for one height (432p 730/1100k, 720p
// 3000/4500k, 1080p 6000/7800k) the higher one is kept, since here it is a
// cap, not a target. The specification lists 1440p and 2160p only for
// HEVC; those two rows use its HEVC rates (8100k, 16800k).
var published = []struct{ height, kbps int }{
	{2160, 16800},
	{1440, 8100},
	{1080, 7800},
	{720, 4500},
	{540, 2000},
	{432, 1100},
	{360, 365},
	{234, 145},
}

// nearLadder is how far above a ladder height (5%) a source's height may
// sit and still be served by that ladder rung instead of a rung of its own:
// a 1090-line source gets a 1080p top rung, not 1090p and 1080p.
const nearLadder = 1.05

// Auto returns the ladder for a source displayed at srcW×srcH (after
// rotation), highest rung first: every published rung at or below the
// source's height, never upscaling; the source's own height as the top rung
// when it sits between two published heights; and one rung at the source's
// height when the source is below every published rung. Widths keep the
// source's aspect ratio. Auto returns nil when either size is not positive.
func Auto(srcW, srcH int) []Rung {
	if srcW <= 0 || srcH <= 0 {
		return nil
	}
	top := published[0].height
	var heights []int
	for _, p := range published {
		if p.height <= srcH {
			heights = append(heights, p.height)
		}
	}
	own := even(srcH)
	switch {
	case len(heights) == 0:
		heights = []int{own}
	case own > heights[0] && srcH < top && float64(srcH) > float64(heights[0])*nearLadder:
		heights = slices.Insert(heights, 0, own)
	}
	rungs := make([]Rung, len(heights))
	for i, h := range heights {
		rungs[i] = newRung(h, Rate(h))
	}
	return Sized(rungs, srcW, srcH)
}

// Rate returns the maxrate in kbit/s for a rung of the given height: the
// published rate at a published height; between two published heights, the
// rate interpolated by pixel count; outside them, the nearest published
// rate scaled by pixel count. It is at least 1.
func Rate(height int) int {
	h := float64(height)
	for i, p := range published {
		if height == p.height {
			return p.kbps
		}
		if height > p.height {
			if i == 0 {
				return scaled(p.kbps, h/float64(p.height))
			}
			hi := published[i-1]
			lo, hh := float64(p.height), float64(hi.height)
			frac := (h*h - lo*lo) / (hh*hh - lo*lo)
			return max(1, int(math.Round(float64(p.kbps)+frac*float64(hi.kbps-p.kbps))))
		}
	}
	last := published[len(published)-1]
	return scaled(last.kbps, h/float64(last.height))
}

func scaled(kbps int, ratio float64) int {
	return max(1, int(math.Round(float64(kbps)*ratio*ratio)))
}

func newRung(height, kbps int) Rung {
	return Rung{Height: height, MaxrateKbps: kbps, BufsizeKbps: 2 * kbps}
}

// Sized returns a copy of rungs with every Width set for a source displayed
// at srcW×srcH: the rung's height times the source's aspect ratio, rounded
// to the nearest even number (at least 2).
func Sized(rungs []Rung, srcW, srcH int) []Rung {
	out := slices.Clone(rungs)
	for i := range out {
		w := float64(out[i].Height) * float64(srcW) / float64(srcH)
		out[i].Width = max(2, int(math.Round(w/2))*2)
	}
	return out
}

func even(n int) int { return max(2, n&^1) }

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("invalid ladder")

// Parse reads an explicit ladder: comma-separated items, each a height
// ("720") whose maxrate is Rate(height), or HEIGHTxKBPS ("720x3000") with
// its own maxrate in kbit/s. Heights must be even and positive and appear
// once. The rungs come back highest first with Width 0: Sized sets the
// widths once the source's size is known. Parse does not decide whether a
// rung upscales the source.
func Parse(spec string) ([]Rung, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("%w: empty", ErrSyntax)
	}
	var rungs []Rung
	seen := map[int]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		r, err := parseItem(item)
		if err != nil {
			return nil, fmt.Errorf("%w: item %q: %v", ErrSyntax, item, err)
		}
		if seen[r.Height] {
			return nil, fmt.Errorf("%w: item %q: height %d given twice", ErrSyntax, item, r.Height)
		}
		seen[r.Height] = true
		rungs = append(rungs, r)
	}
	slices.SortFunc(rungs, func(a, b Rung) int { return b.Height - a.Height })
	return rungs, nil
}

func parseItem(item string) (Rung, error) {
	hs, ks, hasRate := strings.Cut(strings.ToLower(item), "x")
	h, err := strconv.Atoi(hs)
	if err != nil || h <= 0 {
		return Rung{}, fmt.Errorf("height %q is not a positive whole number", hs)
	}
	if h%2 != 0 {
		return Rung{}, fmt.Errorf("height %d is odd", h)
	}
	if !hasRate {
		return newRung(h, Rate(h)), nil
	}
	k, err := strconv.Atoi(ks)
	if err != nil || k <= 0 {
		return Rung{}, fmt.Errorf("rate %q is not a positive whole number of kbit/s", ks)
	}
	return newRung(h, k), nil
}
