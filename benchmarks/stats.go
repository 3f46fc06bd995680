package benchmarks

import (
	"slices"
)

// Stat summarises one measure over a case's successful runs.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// statOf returns the median, minimum and maximum of xs; the zero Stat when
// xs is empty. The median of an even count is the mean of the middle two.
func statOf(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	med := s[mid]
	if len(s)%2 == 0 {
		med = (s[mid-1] + s[mid]) / 2
	}
	return Stat{Median: med, Min: s[0], Max: s[len(s)-1]}
}

// Result summarises one case on one input over its measured runs: medians,
// and the minimum and maximum of the times and speed-ups.
type Result struct {
	Input   string `json:"input"`
	Case    string `json:"case"`
	Backend string `json:"backend"`
	Workers int    `json:"workers"`
	Runs    int    `json:"runs"`
	Failed  int    `json:"failed"`
	Wall    Stat   `json:"wall_seconds"`
	// Speedup is over the runs whose round had a plain ffmpeg run.
	Speedup Stat `json:"speedup_vs_ffmpeg"`
	// SpeedupVs, in a ladder bench, is the speed-up against each other
	// baseline, by case name.
	SpeedupVs   map[string]Stat `json:"speedup_vs,omitempty"`
	CPU         Stat            `json:"cpu_seconds"`
	Realtime    float64         `json:"x_realtime"`
	Stages      *Stages         `json:"stages,omitempty"`
	OutputBytes int64           `json:"output_bytes"`
	// SSIM is the lowest over the runs, 0 when not measured.
	SSIM float64 `json:"ssim,omitempty"`
	// Rungs, in a ladder bench, have each rung's median bytes and lowest
	// SSIM over the runs.
	Rungs []Rung `json:"rungs,omitempty"`
	Usage *Usage `json:"lambda,omitempty"`
	// Errors are the distinct errors of the failed runs.
	Errors []string `json:"errors,omitempty"`
}

// summarize builds a Result for every input and case, in table order.
func summarize(rep *Report) []Result {
	type key struct{ input, c string }
	byKey := map[key][]Run{}
	for _, r := range rep.Runs {
		k := key{r.Input, r.Case()}
		byKey[k] = append(byKey[k], r)
	}
	var out []Result
	for _, in := range rep.Inputs {
		for _, c := range rep.Cases {
			runs := byKey[key{in.Name, c}]
			if len(runs) == 0 {
				continue
			}
			out = append(out, summarizeCase(runs))
		}
	}
	return out
}

func summarizeCase(runs []Run) Result {
	res := Result{Input: runs[0].Input, Case: runs[0].Case(), Backend: runs[0].Backend, Workers: runs[0].Workers, Runs: len(runs)}
	var wall, speed, cpu, rt, bytes []float64
	var stages []*Stages
	var usages []*Usage
	vs := map[string][]float64{}
	var rungBytes [][]float64
	for _, r := range runs {
		if r.Failed() {
			res.Failed++
			if !slices.Contains(res.Errors, r.Error) {
				res.Errors = append(res.Errors, r.Error)
			}
			continue
		}
		wall = append(wall, r.WallSeconds)
		cpu = append(cpu, r.CPUSeconds)
		rt = append(rt, r.Realtime)
		bytes = append(bytes, float64(r.OutputBytes))
		if r.SpeedupVsFFmpeg > 0 {
			speed = append(speed, r.SpeedupVsFFmpeg)
		}
		for base, v := range r.SpeedupVs {
			vs[base] = append(vs[base], v)
		}
		for i, g := range r.Rungs {
			if i == len(res.Rungs) {
				res.Rungs = append(res.Rungs, Rung{Height: g.Height, Width: g.Width, MaxrateKbps: g.MaxrateKbps})
				rungBytes = append(rungBytes, nil)
			}
			rungBytes[i] = append(rungBytes[i], float64(g.Bytes))
			if g.SSIM > 0 && (res.Rungs[i].SSIM == 0 || g.SSIM < res.Rungs[i].SSIM) {
				res.Rungs[i].SSIM = g.SSIM
			}
		}
		if r.SSIM > 0 && (res.SSIM == 0 || r.SSIM < res.SSIM) {
			res.SSIM = r.SSIM
		}
		if r.Stages != nil {
			stages = append(stages, r.Stages)
		}
		if r.Usage != nil {
			usages = append(usages, r.Usage)
		}
	}
	res.Wall, res.Speedup, res.CPU = statOf(wall), statOf(speed), statOf(cpu)
	for base, xs := range vs {
		if res.SpeedupVs == nil {
			res.SpeedupVs = map[string]Stat{}
		}
		res.SpeedupVs[base] = statOf(xs)
	}
	for i := range res.Rungs {
		res.Rungs[i].Bytes = int64(statOf(rungBytes[i]).Median)
	}
	res.Realtime = statOf(rt).Median
	res.OutputBytes = int64(statOf(bytes).Median)
	if len(stages) > 0 {
		res.Stages = medianStages(stages)
	}
	if len(usages) > 0 {
		res.Usage = medianUsage(usages)
	}
	return res
}

// medianStages takes the median of every stage separately.
func medianStages(ss []*Stages) *Stages {
	med := func(f func(*Stages) float64) float64 {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		return statOf(xs).Median
	}
	return &Stages{
		Probe:    med(func(s *Stages) float64 { return s.Probe }),
		Plan:     med(func(s *Stages) float64 { return s.Plan }),
		Staging:  med(func(s *Stages) float64 { return s.Staging }),
		Encode:   med(func(s *Stages) float64 { return s.Encode }),
		Audio:    med(func(s *Stages) float64 { return s.Audio }),
		Download: med(func(s *Stages) float64 { return s.Download }),
		Merge:    med(func(s *Stages) float64 { return s.Merge }),
		Verify:   med(func(s *Stages) float64 { return s.Verify }),
	}
}

// medianUsage takes the median of every usage figure separately.
func medianUsage(us []*Usage) *Usage {
	med := func(f func(*Usage) float64) float64 {
		xs := make([]float64, len(us))
		for i, u := range us {
			xs[i] = f(u)
		}
		return statOf(xs).Median
	}
	return &Usage{
		Invocations: int(med(func(u *Usage) float64 { return float64(u.Invocations) })),
		Retries:     int(med(func(u *Usage) float64 { return float64(u.Retries) })),
		GBSeconds:   med(func(u *Usage) float64 { return u.GBSeconds }),
		USD:         med(func(u *Usage) float64 { return u.USD }),
	}
}
