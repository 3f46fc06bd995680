// Package benchmarks measures chunkcode against one plain ffmpeg process with
// the same encode settings, on the local worker pool at several sizes and on
// any other backend the caller passes in, such as Lambda. It is the library
// behind `chunkcode bench`: it runs, measures and summarises, and the command
// prints.
//
// Cases alternate run by run, so drift in the machine's speed hits all of
// them alike, and every speed-up is a ratio against the plain ffmpeg run of
// the same round. Like the rest of chunkcode the package never prints, reads
// flags or exits.
package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/observe"
)

// Backend names a bench can run.
const (
	// FFmpeg is one plain ffmpeg process: the baseline.
	FFmpeg = "ffmpeg"
	// Local is chunkcode's local worker pool.
	Local = "local"
	// Lambda is chunkcode on AWS Lambda, through Config.Lambda.
	Lambda = "lambda"
)

// Backends lists every backend name in the order tables show them.
var Backends = []string{FFmpeg, Local, Lambda}

// DefaultRuns is how many measured runs each case gets.
const DefaultRuns = 3

// BackendFactory makes a fresh backend for one run and returns it with the
// worker count to use; workers 0 asks for the backend's default. The command
// passes one for Lambda, configured from its flags. An error means the
// backend is not configured: its rows are skipped with the error as the
// reason.
type BackendFactory func(ctx context.Context, workers int) (transcode.Backend, int, error)

// Input is one video to benchmark.
type Input struct {
	Name string `json:"name"` // shown in tables; the file name when empty
	Path string `json:"path"`
}

// Config says what to benchmark. The zero values of its fields are the
// defaults noted on each.
type Config struct {
	Inputs []Input
	// Profile is how to encode. Its Threads is ignored: plain ffmpeg
	// leaves threads to the encoder and the local pool to the pipeline,
	// as chunkcode transcode does.
	Profile         transcode.Profile
	SegmentDuration time.Duration // 0 is automatic
	// Backends are the backends to run, in column order; default
	// Backends.
	Backends []string
	// Workers are the local pool sizes to sweep; default one per core.
	Workers []int
	// Lambda makes the Lambda backend; nil skips its rows.
	Lambda BackendFactory
	// LambdaWorkers is the Lambda fan-out; 0 is the backend's default.
	LambdaWorkers int
	// LambdaThreads is the ffmpeg threads of one segment encode on
	// Lambda; 0 lets the function use all its cores.
	LambdaThreads int
	// Runs is how many measured runs each case gets; default DefaultRuns.
	Runs int
	// Warmup is how many rounds of every case run first, unmeasured.
	Warmup int
	// Retries is how many times a failed segment is retried; it is
	// passed to the pipeline as is.
	Retries int
	// SSIM compares every output with the plain ffmpeg output.
	SSIM bool
	// BaselineEnv is the environment of the plain ffmpeg baseline:
	// BaselineTuned (the default) or BaselinePlain.
	BaselineEnv string
	// Dir holds the outputs; "" uses a temporary directory that is
	// removed afterwards.
	Dir string
	// Project, when it has concurrencies, adds projections of the wall
	// time on that many parallel Lambdas.
	Project ProjectOptions
	// Ladder, when not nil, benchmarks a streaming ladder: the FFmpeg
	// backend then runs both LadderBaselines, and Lambda is refused.
	Ladder *LadderOptions
	Runner ffmpeg.Runner
	// Notify, when set, is called after every run, warm-ups included.
	Notify func(Run)
}

// Stages are the seconds a run spent in each step. Encode is the encode
// stage's wall time, the critical path of the segment encodes; Audio runs
// at the same time. Staging is the backend's preparation (the upload to
// S3 for Lambda) and Download the time spent fetching encoded segments,
// summed over segments.
type Stages struct {
	Probe    float64 `json:"probe"`
	Plan     float64 `json:"plan"`
	Staging  float64 `json:"staging"`
	Encode   float64 `json:"encode"`
	Audio    float64 `json:"audio"`
	Download float64 `json:"download"`
	Merge    float64 `json:"merge"`
	Verify   float64 `json:"verify"`
}

// Usage is what a run on a billed backend used.
type Usage struct {
	Invocations int     `json:"invocations"`
	Retries     int     `json:"retries"`
	GBSeconds   float64 `json:"gb_seconds"`
	USD         float64 `json:"estimated_usd"`
}

// Run is one run of one case.
type Run struct {
	Input   string `json:"input"`
	Backend string `json:"backend"`
	// Workers is the pool size; 1 for plain ffmpeg.
	Workers int `json:"workers"`
	// Run numbers measured runs from 1; warm-ups have 0.
	Run         int     `json:"run"`
	Warmup      bool    `json:"warmup,omitempty"`
	WallSeconds float64 `json:"wall_seconds"`
	// CPUSeconds is user plus system time of this process and the
	// children it waited for during the run.
	CPUSeconds float64 `json:"cpu_seconds"`
	// SpeedupVsFFmpeg is the plain ffmpeg run's wall time in the same
	// round divided by this run's; absent when that run failed. In a
	// ladder bench the plain ffmpeg run is the one-process ladder,
	// FFmpegLadder.
	SpeedupVsFFmpeg float64 `json:"speedup_vs_ffmpeg,omitempty"`
	// SpeedupVs, in a ladder bench, has the speed-up against each other
	// baseline of the round, by case name.
	SpeedupVs map[string]float64 `json:"speedup_vs,omitempty"`
	// Realtime is the input's duration over the wall time.
	Realtime    float64 `json:"x_realtime"`
	Stages      *Stages `json:"stages,omitempty"`
	Segments    int     `json:"segments,omitempty"`
	Retries     int     `json:"retries,omitempty"`
	OutputBytes int64   `json:"output_bytes"`
	// SSIM compares the output with the plain ffmpeg output, scaled to
	// its size; absent when not measured.
	SSIM float64 `json:"ssim,omitempty"`
	// Rungs, in a ladder bench, are the output's rungs, highest first.
	Rungs []Rung `json:"rungs,omitempty"`
	Usage *Usage `json:"lambda,omitempty"`
	Error string `json:"error,omitempty"`
	// Utilization and TailSeconds are the summary's of a chunkcode run
	// (see transcode.Summary).
	Utilization float64 `json:"utilization,omitempty"`
	TailSeconds float64 `json:"tail_seconds,omitempty"`

	results   []transcode.Result // per segment, for projections
	overheads []float64          // per successful Encode call: its time less the encode time
	spans     []observe.SpanData // a chunkcode run's, for the chart's timeline
}

// Failed reports whether the run failed.
func (r Run) Failed() bool { return r.Error != "" }

// Case names one column of the table: a backend at a worker count.
func (r Run) Case() string { return caseName(r.Backend, r.Workers) }

func caseName(backend string, workers int) string {
	if backend == Local {
		return fmt.Sprintf("local ×%d", workers)
	}
	return backend
}

// Skip is a backend that was not run.
type Skip struct {
	Backend string `json:"backend"`
	Reason  string `json:"reason"`
}

// InputInfo describes a benchmarked input.
type InputInfo struct {
	Name     string  `json:"name"`
	Path     string  `json:"path"`
	Format   string  `json:"format,omitempty"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Duration float64 `json:"duration_seconds,omitempty"`
	Frames   int     `json:"frames,omitempty"`
	Bytes    int64   `json:"bytes,omitempty"`
	Error    string  `json:"error,omitempty"`
	// Rungs, in a ladder bench, are the rungs chosen for the input.
	Rungs     []Rung `json:"rungs,omitempty"`
	media     *media.Media
	rungs     []ladder.Rung
	reference string // the plain ffmpeg output SSIM compares with
}

// Machine describes where the bench ran.
type Machine struct {
	Cores  int    `json:"cores"`
	CPU    string `json:"cpu,omitempty"`
	OS     string `json:"os"`
	Go     string `json:"go"`
	FFmpeg string `json:"ffmpeg"`
	// LoadStart and LoadEnd are the one-minute load averages when the
	// bench started and ended, 0 where the system does not say: on a
	// shared machine they tell how busy the others kept it.
	LoadStart float64 `json:"load_average_start,omitempty"`
	LoadEnd   float64 `json:"load_average_end,omitempty"`
}

// The environments the plain ffmpeg baseline can run in.
const (
	// BaselineTuned runs it with the environment chunkcode's own encoders
	// get (ffmpeg.Runner.WithHugePages), so the speed-up compares like
	// with like.
	BaselineTuned = "tuned"
	// BaselinePlain runs it as a user would by hand, untuned.
	BaselinePlain = "plain"
)

// LoadWarning says, when the machine was already busy as the bench started
// (a one-minute load average of a quarter of its cores or more), that
// other work ran beside it; "" otherwise. The load at the end counts the
// bench's own encodes, so it says nothing of the others.
func (m Machine) LoadWarning() string {
	if m.Cores <= 0 || m.LoadStart < 0.25*float64(m.Cores) {
		return ""
	}
	return fmt.Sprintf("warning: load average %.2f on %d cores when the bench started: other work was running, so timings are noisy", m.LoadStart, m.Cores)
}

// describeBaseline says how plain ffmpeg ran.
func describeBaseline(env string) string {
	if env == BaselinePlain {
		return "plain ffmpeg, untuned (--baseline-env=plain)"
	}
	return "plain ffmpeg, with the environment chunkcode's encoders get (GLIBC_TUNABLES huge pages)"
}

// Settings are the encode settings and the method of a bench.
type Settings struct {
	Profile         transcode.Profile `json:"profile"`
	SegmentDuration float64           `json:"segment_duration_seconds,omitempty"`
	Runs            int               `json:"runs"`
	Warmup          int               `json:"warmup"`
	Order           string            `json:"order"`
	// BaselineEnv is the environment plain ffmpeg ran in: BaselineTuned
	// or BaselinePlain.
	BaselineEnv string `json:"baseline_env"`
	// Ladder is set for a ladder bench.
	Ladder *LadderSettings `json:"ladder,omitempty"`
}

// ReportSchema is the version of the report's JSON layout. It changes
// whenever a field changes meaning, so that a committed report made by an
// older chunkcode can be told apart.
const ReportSchema = 2

// Report is everything a bench measured.
type Report struct {
	Schema      int          `json:"schema"` // ReportSchema
	Machine     Machine      `json:"machine"`
	Settings    Settings     `json:"settings"`
	Inputs      []InputInfo  `json:"inputs"`
	Cases       []string     `json:"cases"`
	Runs        []Run        `json:"runs"` // measured runs, in the order they ran
	Results     []Result     `json:"results"`
	Skipped     []Skip       `json:"skipped,omitempty"`
	Projections []Projection `json:"projections,omitempty"`
}

// Failures counts the measured runs that failed.
func (r *Report) Failures() int {
	n := 0
	for _, run := range r.Runs {
		if run.Failed() {
			n++
		}
	}
	return n
}

// benchCase is one column: a backend at a worker count.
type benchCase struct {
	backend string
	workers int
}

// Bench runs cfg and returns its report. A run that fails is recorded in
// the report and the bench goes on; Bench returns an error only for a
// configuration it cannot run, or the context's error, with what was
// measured so far, when it is cancelled.
func Bench(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{
		Schema:  ReportSchema,
		Machine: describeMachine(ctx, cfg.Runner),
		Settings: Settings{Profile: cfg.Profile, SegmentDuration: cfg.SegmentDuration.Seconds(),
			Runs: cfg.Runs, Warmup: cfg.Warmup, Order: orderDoc, BaselineEnv: cfg.BaselineEnv,
			Ladder: ladderSettings(cfg.Ladder)},
	}
	var cases []benchCase
	for _, b := range cfg.Backends {
		switch b {
		case FFmpeg:
			if cfg.Ladder != nil {
				cases = append(cases, benchCase{FFmpegLadder, 1}, benchCase{FFmpegPerRung, 1})
				continue
			}
			cases = append(cases, benchCase{FFmpeg, 1})
		case Local:
			for _, w := range cfg.Workers {
				cases = append(cases, benchCase{Local, w})
			}
		case Lambda:
			if reason := cfg.lambdaReady(ctx); reason != "" {
				rep.Skipped = append(rep.Skipped, Skip{Backend: Lambda, Reason: reason})
				continue
			}
			cases = append(cases, benchCase{Lambda, cfg.LambdaWorkers})
		}
	}
	for _, c := range cases {
		rep.Cases = append(rep.Cases, caseName(c.backend, c.workers))
	}

	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "chunkcode-bench-")
		if err != nil {
			return nil, fmt.Errorf("create bench directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create bench directory: %w", err)
	}

	b := &bench{cfg: cfg, rep: rep, dir: dir}
	var err error
	for i, in := range cfg.Inputs {
		if err = b.input(ctx, i, in, cases); err != nil {
			break
		}
	}
	rep.Machine.LoadEnd = loadAverage()
	rep.Results = summarize(rep)
	if err == nil && len(cfg.Project.Concurrency) > 0 {
		rep.Projections = project(rep, cfg.Project, cfg.SegmentDuration, cfg.Ladder)
	}
	for i := range rep.Inputs {
		rep.Inputs[i].media = nil
	}
	return rep, err
}

// orderDoc says in what order cases run.
const orderDoc = "each input in turn: its warm-up rounds, then its measured rounds; within a round every case runs once, in column order on odd rounds and reversed on even ones (ABBA)"

func (c *Config) defaults() error {
	if len(c.Inputs) == 0 {
		return errors.New("no inputs to benchmark")
	}
	// An input that is not there fails the bench before any run, rather
	// than as a row of failures after the others have run.
	for _, in := range c.Inputs {
		fi, err := os.Stat(in.Path)
		if err != nil {
			return &media.Error{Path: in.Path, Err: unwrapPath(err)}
		}
		if fi.IsDir() {
			return &media.Error{Path: in.Path, Err: errors.New("is a directory")}
		}
	}
	switch c.BaselineEnv {
	case "":
		c.BaselineEnv = BaselineTuned
	case BaselineTuned, BaselinePlain:
	default:
		return fmt.Errorf("unknown baseline environment %q (want %s or %s)", c.BaselineEnv, BaselineTuned, BaselinePlain)
	}
	// Fill the codec and CRF defaults now, so the report shows them; the
	// audio codec's default depends on each output's container.
	c.Profile = c.Profile.WithDefaults(media.Container{})
	if err := c.Profile.CheckVideo(); err != nil {
		return err
	}
	if err := c.Profile.CheckAudio(); err != nil {
		return err
	}
	if len(c.Backends) == 0 {
		c.Backends = Backends
	}
	for _, b := range c.Backends {
		if !slices.Contains(Backends, b) {
			return fmt.Errorf("unknown backend %q (want %s)", b, strings.Join(Backends, ", "))
		}
	}
	if len(c.Workers) == 0 {
		c.Workers = []int{runtime.NumCPU()}
	}
	for _, w := range c.Workers {
		if w <= 0 {
			return fmt.Errorf("worker count %d is not positive", w)
		}
	}
	if c.Runs <= 0 {
		c.Runs = DefaultRuns
	}
	c.Warmup = max(c.Warmup, 0)
	return c.checkLadder()
}

// lambdaReady returns why Lambda rows are skipped, "" when they are not.
func (c *Config) lambdaReady(ctx context.Context) string {
	if c.Lambda == nil {
		return "no Lambda backend configured"
	}
	if _, _, err := c.Lambda(ctx, c.LambdaWorkers); err != nil {
		return err.Error()
	}
	return ""
}

// bench is one Bench call in progress.
type bench struct {
	cfg Config
	rep *Report
	dir string
}

// input probes one input and runs every case on it, round by round.
func (b *bench) input(ctx context.Context, i int, in Input, cases []benchCase) error {
	if in.Name == "" {
		in.Name = filepath.Base(in.Path)
	}
	info := InputInfo{Name: in.Name, Path: in.Path}
	m, err := b.cfg.Runner.Probe(ctx, in.Path)
	if err == nil {
		info.media = m
		info.Format, info.Width, info.Height = m.Format, m.Video.Width, m.Video.Height
		info.Duration, info.Frames, info.Bytes = m.VideoDuration(), len(m.Frames), m.Size
		if b.cfg.Ladder != nil {
			if info.rungs, err = b.cfg.Ladder.rungsFor(displayed(m)); err != nil {
				info.Error = err.Error()
			}
			for _, r := range info.rungs {
				info.Rungs = append(info.Rungs, Rung{Height: r.Height, Width: r.Width, MaxrateKbps: r.MaxrateKbps})
			}
		}
	} else {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		info.Error = err.Error()
	}
	b.rep.Inputs = append(b.rep.Inputs, info)
	ip := &b.rep.Inputs[len(b.rep.Inputs)-1]
	dir := filepath.Join(b.dir, fmt.Sprintf("%02d-%s", i+1, safeName(in.Name)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create bench directory: %w", err)
	}
	ext := outputExt(in.Path, b.cfg.Profile.Codec)
	if b.cfg.Ladder != nil {
		ext = "" // a directory
	}
	first := FFmpeg // the case whose first output is the reference
	if b.cfg.Ladder != nil {
		first = FFmpegLadder
	}

	for round := range b.cfg.Warmup + b.cfg.Runs {
		measured := round - b.cfg.Warmup + 1 // 1-based; ≤ 0 for warm-ups
		order := slices.Clone(cases)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		var baseline float64 // this round's plain ffmpeg wall time
		walls := map[string]float64{}
		var runs []Run
		for _, c := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			run := Run{Input: in.Name, Backend: c.backend, Workers: c.workers, Run: max(measured, 0), Warmup: measured <= 0}
			if ip.Error != "" {
				run.Error = ip.Error
			} else {
				out := filepath.Join(dir, strings.ReplaceAll(caseName(c.backend, c.workers), " ×", "-")+ext)
				if c.backend == first && ip.reference == "" {
					out = filepath.Join(dir, "reference"+ext)
				}
				b.run(ctx, ip, c, out, &run)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if !run.Failed() {
					walls[c.backend] = run.WallSeconds
				}
				if c.backend == first && !run.Failed() {
					baseline = run.WallSeconds
					if ip.reference == "" {
						ip.reference = out
					}
				}
				if b.cfg.Ladder != nil {
					if b.cfg.SSIM && !run.Failed() && ip.reference != "" && out != ip.reference {
						if err := b.rungsSSIM(ctx, ip, out, &run); err != nil {
							if ctx.Err() != nil {
								return ctx.Err()
							}
							run.Error = err.Error()
						}
					}
				} else if b.cfg.SSIM && !run.Failed() && ip.reference != "" && out != ip.reference {
					if s, err := SSIM(ctx, b.cfg.Runner, out, ip.reference); err == nil {
						run.SSIM = s
					} else if ctx.Err() != nil {
						return ctx.Err()
					} else {
						run.Error = fmt.Sprintf("measure ssim: %v", err)
					}
				}
			}
			runs = append(runs, run)
		}
		// Speed-ups need the round's baselines, which may run last.
		if b.cfg.Ladder != nil {
			ladderSpeedups(runs, walls)
		}
		for j := range runs {
			if r := &runs[j]; b.cfg.Ladder == nil && baseline > 0 && !r.Failed() && r.WallSeconds > 0 {
				r.SpeedupVsFFmpeg = baseline / r.WallSeconds
			}
			if b.cfg.Notify != nil {
				b.cfg.Notify(runs[j])
			}
			if !runs[j].Warmup {
				b.rep.Runs = append(b.rep.Runs, runs[j])
			}
		}
	}
	return nil
}

// run measures one case once, writing out, and fills r.
func (b *bench) run(ctx context.Context, in *InputInfo, c benchCase, out string, r *Run) {
	m := in.media
	if b.cfg.Ladder != nil {
		// A ladder is a directory, which a run rewrites whole.
		if err := os.RemoveAll(out); err != nil {
			r.Error = err.Error()
			return
		}
	}
	before := cpuSeconds()
	start := time.Now()
	var err error
	switch c.backend {
	case FFmpeg:
		err = b.runFFmpeg(ctx, m, out)
	case FFmpegLadder, FFmpegPerRung:
		err = b.runLadderBaseline(ctx, in, c.backend, out)
	default:
		err = b.runPipeline(ctx, in, c, out, r)
	}
	r.WallSeconds = time.Since(start).Seconds()
	r.CPUSeconds = cpuSeconds() - before
	if err != nil {
		r.Error = err.Error()
		return
	}
	if r.WallSeconds > 0 {
		r.Realtime = in.Duration / r.WallSeconds
	}
	if b.cfg.Ladder != nil {
		r.OutputBytes = dirSize(out)
		if err := measureRungs(in, c.backend, out, r); err != nil {
			r.Error = err.Error()
		}
		return
	}
	if fi, err := os.Stat(out); err == nil {
		r.OutputBytes = fi.Size()
	}
}

// runFFmpeg runs the plain ffmpeg baseline, in the environment
// Config.BaselineEnv says.
func (b *bench) runFFmpeg(ctx context.Context, m *media.Media, out string) error {
	args, err := transcode.BaselineArgs(m, b.cfg.Profile, out)
	if err != nil {
		return err
	}
	r := b.cfg.Runner
	if b.cfg.BaselineEnv == BaselineTuned {
		r = r.WithHugePages()
	}
	if err := r.Run(ctx, args, nil); err != nil {
		os.Remove(out)
		return fmt.Errorf("run ffmpeg: %w", err)
	}
	return nil
}

// unwrapPath returns the cause of a *fs.PathError, which names the file
// again.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// runPipeline runs chunkcode's pipeline on the local pool or on the
// backend Config.Lambda makes.
func (b *bench) runPipeline(ctx context.Context, in *InputInfo, c benchCase, out string, r *Run) error {
	prof := b.cfg.Profile
	prof.Threads = b.cfg.LambdaThreads
	var backend transcode.Backend
	workers := c.workers
	if c.backend == Local {
		backend = &transcode.Local{Runner: b.cfg.Runner}
		prof.Threads = 0 // the pipeline's choice, as for chunkcode transcode
	} else {
		var err error
		backend, workers, err = b.cfg.Lambda(ctx, c.workers)
		if err != nil {
			return fmt.Errorf("make %s backend: %w", c.backend, err)
		}
	}
	r.Workers = workers
	meter := &meter{Backend: backend}
	// Spans kept for the chart's timeline, and exported when the OTEL_*
	// environment names a collector.
	rec, err := observe.New(ctx, observe.Options{Keep: true})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		rec.Shutdown(sctx)
	}()
	p := &transcode.Pipeline{Runner: b.cfg.Runner, Backend: meter, Recorder: rec}
	if b.cfg.Ladder != nil {
		// The meter counts Lambda invocations, which a ladder does not
		// make, and would hide the backend's ChunkEncoder.
		p.Backend = backend
	}
	req := transcode.Request{
		Input: in.Path, Output: out, Profile: prof, Workers: workers,
		SegmentDuration: b.cfg.SegmentDuration, Retries: b.cfg.Retries,
	}
	if b.cfg.Ladder != nil {
		req.Output = filepath.Join(out, transcode.DefaultMaster)
		req.Ladder, req.SegmentLength = in.rungs, b.cfg.Ladder.SegmentLength
	}
	sum, err := p.Run(ctx, req)
	r.spans = rec.Spans()
	if err != nil {
		return err
	}
	r.Utilization, r.TailSeconds = sum.Utilization, sum.TailSeconds
	remote := transcode.RemoteStats{}
	if c.backend == Lambda {
		remote = *sum.Remote
	}
	st := &Stages{
		Probe: sum.Stages.Probe, Plan: sum.Stages.Plan, Staging: sum.Stages.Prepare,
		Encode: sum.Stages.Encode, Audio: sum.Stages.Audio, Download: remote.DownloadSeconds,
		Merge: sum.Stages.Merge, Verify: sum.Stages.Verify,
	}
	r.Stages, r.Segments, r.Retries = st, sum.Segments, sum.Retries
	r.results, r.overheads = sum.Results, meter.overheads
	if c.backend == Lambda {
		r.Usage = &Usage{Invocations: meter.invocations, Retries: sum.Retries,
			GBSeconds: remote.GBSeconds, USD: remote.USD}
	}
	return nil
}

// outputExt keeps the input's container when it can hold codec, and uses
// Matroska, which holds every codec, otherwise.
func outputExt(input string, codec media.Codec) string {
	if codec == "" {
		codec = media.H264
	}
	if c, err := media.ContainerFor(input); err == nil && slices.Contains(c.Video, codec) {
		return c.Ext
	}
	return ".mkv"
}

// safeName turns a display name into a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// describeMachine reports the cores, CPU model and program versions.
func describeMachine(ctx context.Context, r ffmpeg.Runner) Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), CPU: cpuModel(), LoadStart: loadAverage()}
	if v, err := r.Version(ctx); err == nil {
		m.FFmpeg = v
	}
	return m
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, "" elsewhere.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage returns the one-minute load average from /proc/loadavg, 0
// elsewhere.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// dirSize is the bytes of the files under path.
func dirSize(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
