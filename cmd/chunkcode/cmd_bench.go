package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/benchmarks"
	"github.com/chunkcode/chunkcode/internal/atomicfile"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type benchOptions struct {
	encodeOptions
	// lambda configures the Lambda backend; bench has --backends instead
	// of transcode's --backend.
	lambda             lambdaOptions
	backends           []string
	workers            []int
	lambdaWorkers      int
	lambdaThreads      int
	runs               int
	warmup             int
	retries            int
	json               bool
	csv                bool
	chart              string
	inputs             string // --profile: generated inputs
	scale              float64
	fixtures           string
	outDir             string
	noSSIM             bool
	baselineEnv        string
	quiet              bool
	projectConcurrency []int
	invocationOverhead time.Duration
	stagingMBps        float64
	ladder             string // --ladder: "" for no ladder
	segmentLength      string
	scaleSet           bool     // whether --scale was given
	backendsSet        bool     // whether --backends was given
	args               []string // INPUT...
}

func (o *benchOptions) AddFlags(f *pflag.FlagSet) {
	o.encodeOptions.AddFlags(f)
	o.lambda.AddFlags(f)
	f.StringSliceVar(&o.backends, "backends", benchmarks.Backends, "backends to compare: ffmpeg (one plain ffmpeg process, the baseline), local, lambda")
	f.IntSliceVarP(&o.workers, "workers", "w", nil, "local worker counts to sweep, for example 1,2,4 (default: one per core)")
	f.IntVar(&o.lambdaWorkers, "lambda-workers", 0, "parallel Lambda invocations (default: the Lambda backend's)")
	f.IntVar(&o.lambdaThreads, "lambda-threads", 0, "ffmpeg threads per segment encode on Lambda (default: the function's cores)")
	f.IntVar(&o.runs, "runs", benchmarks.DefaultRuns, "measured runs of each case")
	f.IntVar(&o.warmup, "warmup", 1, "unmeasured warm-up runs of each case first")
	f.IntVar(&o.retries, "retries", transcode.DefaultRetries, "times a failed segment is retried")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	f.BoolVar(&o.csv, "csv", false, "print one CSV row per run instead of Markdown")
	f.StringVar(&o.chart, "chart", "", "also draw a bar chart of the wall times to this SVG file")
	f.StringVar(&o.inputs, "profile", "", `generate inputs: "seed" makes six videos shaped like the original serverless transcoder's table`)
	f.Float64Var(&o.scale, "scale", 1, "with --profile seed, multiply every duration by this, for example 0.02 for a quick run")
	f.StringVar(&o.fixtures, "fixtures", "", "where --profile seed keeps its generated videos (default: the user cache directory)")
	f.StringVar(&o.outDir, "out-dir", "", "keep the outputs of the last run of every case in this directory")
	f.BoolVar(&o.noSSIM, "no-ssim", false, "do not compare outputs with the plain ffmpeg output")
	f.StringVar(&o.baselineEnv, "baseline-env", benchmarks.BaselineTuned, `environment of the plain ffmpeg baseline: "tuned", as chunkcode's encoders (huge pages), or "plain", untuned`)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "do not report each run on stderr")
	f.IntSliceVar(&o.projectConcurrency, "project-concurrency", nil, "also project the wall time on this many parallel Lambdas, for example 100,1000")
	f.DurationVar(&o.invocationOverhead, "invocation-overhead", benchmarks.DefaultInvocationOverhead, "projection: fixed cost of one Lambda invocation, when no Lambda run measured it")
	f.Float64Var(&o.stagingMBps, "staging-throughput", benchmarks.DefaultStagingThroughput/1e6, "projection: MB/s to and from S3, when no Lambda run measured it")
	f.StringVar(&o.ladder, "ladder", "", `benchmark an HLS ladder instead of one output: "auto" or rung heights such as 720,480,360, against plain ffmpeg in one process (ffmpeg-ladder) and one process per rung (ffmpeg-per-rung)`)
	f.StringVar(&o.segmentLength, "segment-length", "", "with --ladder: media segment length (default 6s)")
}

// newBenchCommand returns the bench command. It runs runF with the parsed
// options instead of benchmarking when runF is not nil.
func newBenchCommand(d *deps, runF func(*benchOptions) error) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench INPUT...",
		Short: "Compare chunkcode's backends with one plain ffmpeg process",
		Long: `Time chunkcode on each INPUT against one plain ffmpeg process with the same
encode settings: the local pool at every --workers count and, when configured,
Lambda. Cases alternate run by run, so drift in the machine's speed hits all
of them alike, and every speed-up is a ratio against the plain ffmpeg run of
the same round. Reports the median and min-max wall time, CPU time, speed
against realtime, a per-stage breakdown, output size and SSIM against the
plain ffmpeg output.

The report is a Markdown table on stdout, inputs down and backends across;
--json and --csv print every run instead. A failed run is reported in its row
and makes the exit status 1. Progress goes to stderr.

--profile seed generates six synthetic videos shaped like the original
serverless transcoder's table, cached in --fixtures. --project-concurrency
adds projections, labelled as such, of the wall time on many parallel Lambdas
from the measured segment encode times.

--ladder auto or --ladder 720,480,360 benchmarks an HLS ladder instead: plain
ffmpeg in one process split to every rung (ffmpeg-ladder), plain ffmpeg once
per rung in a row (ffmpeg-per-rung), and chunkcode's local ladder at every
--workers count, with speed-ups against each baseline, and bytes and SSIM
(against ffmpeg-ladder) per rung. With --project-concurrency it projects the
ladder on that many functions from the measured chunk encode times.`,
		Example: `  chunkcode bench --height 720 talk.mp4
  chunkcode bench --workers 1,2,4 --codec vp9 --runs 5 --chart bench.svg clip.mp4
  chunkcode bench --profile seed --scale 0.02 --workers 2 --json
  chunkcode bench --project-concurrency 100,1000 --backends ffmpeg,local clip.mp4
  chunkcode bench --ladder 720,480,360 --segment-length 6 --workers 2 clip.mp4`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.args = args
			o.scaleSet = cmd.Flags().Changed("scale")
			o.backendsSet = cmd.Flags().Changed("backends")
			if runF != nil {
				return runF(o)
			}
			return runBench(cmd.Context(), d, o)
		},
	}
	o.AddFlags(cmd.Flags())
	completeFlagValues(cmd)
	return cmd
}

func runBench(ctx context.Context, d *deps, o *benchOptions) error {
	prof, segDur, err := o.profile()
	if err != nil {
		return err
	}
	switch {
	case o.json && o.csv:
		return usagef("--json and --csv are exclusive")
	case o.inputs != "" && o.inputs != "seed":
		return usagef("unknown --profile %q (want seed)", o.inputs)
	case o.inputs == "" && len(o.args) == 0:
		return usagef("bench needs at least one INPUT or --profile seed")
	case o.inputs == "" && o.scaleSet:
		return usagef("--scale needs --profile seed")
	case o.scale <= 0 || o.scale > 1:
		return usagef("--scale must be above 0 and at most 1")
	case o.runs < 1 || o.warmup < 0 || o.retries < 0 || o.lambdaWorkers < 0 || o.lambdaThreads < 0:
		return usagef("--runs must be at least 1; --warmup, --retries, --lambda-workers and --lambda-threads must not be negative")
	case o.invocationOverhead < 0 || o.stagingMBps <= 0:
		return usagef("--invocation-overhead must not be negative and --staging-throughput must be positive")
	}
	for _, b := range o.backends {
		if !slices.Contains(benchmarks.Backends, b) {
			return usagef("unknown backend %q in --backends (want %s)", b, strings.Join(benchmarks.Backends, ", "))
		}
	}
	lad, err := o.ladderOptions(prof)
	if err != nil {
		return err
	}
	backends := o.backends
	if lad != nil && !o.backendsSet {
		backends = []string{benchmarks.FFmpeg, benchmarks.Local}
	}
	for _, w := range o.workers {
		if w < 1 {
			return usagef("--workers must be positive")
		}
	}
	for _, n := range o.projectConcurrency {
		if n < 1 {
			return usagef("--project-concurrency must be positive")
		}
	}
	if o.chart != "" {
		if fi, err := os.Stat(filepath.Dir(o.chart)); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s: directory %s does not exist", o.chart, filepath.Dir(o.chart))
		}
	}
	if o.baselineEnv != benchmarks.BaselineTuned && o.baselineEnv != benchmarks.BaselinePlain {
		return usagef("--baseline-env: want %s or %s, not %q", benchmarks.BaselineTuned, benchmarks.BaselinePlain, o.baselineEnv)
	}
	if err := d.runner.Check(); err != nil {
		return err
	}
	stderr := d.stderr

	var inputs []benchmarks.Input
	if o.inputs == "seed" {
		dir := o.fixtures
		if dir == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				return fmt.Errorf("find cache directory: %w (use --fixtures)", err)
			}
			dir = filepath.Join(cache, "chunkcode", "seed")
		}
		if !o.quiet {
			fmt.Fprintf(stderr, "seed inputs at scale %g in %s\n", o.scale, dir)
		}
		if inputs, err = benchmarks.GenerateSeed(ctx, d.runner, dir, o.scale); err != nil {
			return err
		}
	}
	for _, a := range o.args {
		inputs = append(inputs, benchmarks.Input{Path: a})
	}

	lambda := func(ctx context.Context, workers int) (transcode.Backend, int, error) {
		if o.lambda.bucket == "" {
			return nil, 0, errors.New("not configured: give --bucket and the other Lambda flags")
		}
		b, err := o.lambda.backend(ctx, d)
		if err != nil {
			return nil, 0, err
		}
		return b, defaultWorkers(b, workers), nil
	}
	cfg := benchmarks.Config{
		Inputs: inputs, Profile: prof, SegmentDuration: segDur,
		Backends: backends, Workers: o.workers, Lambda: lambda, LambdaWorkers: o.lambdaWorkers, LambdaThreads: o.lambdaThreads,
		Runs: o.runs, Warmup: o.warmup, Retries: o.retries, SSIM: !o.noSSIM, Dir: o.outDir, BaselineEnv: o.baselineEnv,
		Project: benchmarks.ProjectOptions{
			Concurrency: o.projectConcurrency, InvocationOverhead: o.invocationOverhead,
			StagingThroughput: o.stagingMBps * 1e6,
		},
		Ladder: lad,
		Runner: d.runner,
	}
	if !o.quiet {
		cfg.Notify = func(r benchmarks.Run) { reportRun(stderr, r, o.runs) }
	}
	rep, err := benchmarks.Bench(ctx, cfg)
	if rep == nil {
		return err
	}
	if werr := writeReport(d.stdout, rep, o); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if n := rep.Failures(); n > 0 {
		return fmt.Errorf("%d of %s failed", n, plural(len(rep.Runs), "run"))
	}
	return nil
}

// writeReport prints rep in the chosen format and draws the chart.
func writeReport(w io.Writer, rep *benchmarks.Report, o *benchOptions) error {
	var err error
	switch {
	case o.json:
		err = rep.WriteJSON(w)
	case o.csv:
		err = rep.WriteCSV(w)
	default:
		err = rep.WriteMarkdown(w)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if o.chart != "" {
		if err := atomicfile.WriteFile(o.chart, 0o644, rep.WriteSVG); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
	}
	return nil
}

// reportRun prints one line per finished run on stderr.
func reportRun(w io.Writer, r benchmarks.Run, runs int) {
	which := fmt.Sprintf("run %d/%d", r.Run, runs)
	if r.Warmup {
		which = "warm-up"
	}
	result := fmt.Sprintf("%.2fs", r.WallSeconds)
	if len(r.SpeedupVs) > 0 {
		for _, base := range benchmarks.LadderBaselines {
			if v, ok := r.SpeedupVs[base]; ok {
				result += fmt.Sprintf(" ×%.2f vs %s", v, base)
			}
		}
	} else if r.SpeedupVsFFmpeg > 0 && r.Backend != benchmarks.FFmpeg {
		result += fmt.Sprintf(" ×%.2f vs ffmpeg", r.SpeedupVsFFmpeg)
	}
	if r.Failed() {
		result = "failed: " + oneLine(r.Error)
	}
	fmt.Fprintf(w, "%-8s %s, %s: %s\n", which, r.Input, r.Case(), result)
}

// ladderOptions returns the ladder --ladder asks for, nil without it. A
// flag that does not go with it, or goes only with it, is a usage error.
func (o *benchOptions) ladderOptions(prof transcode.Profile) (*benchmarks.LadderOptions, error) {
	if o.ladder == "" {
		if o.segmentLength != "" {
			return nil, usagef("--segment-length needs --ladder")
		}
		return nil, nil
	}
	switch {
	case o.backendsSet && slices.Contains(o.backends, benchmarks.Lambda):
		return nil, usagef("--ladder runs plain ffmpeg and the local pool; --backends lambda cannot encode a ladder yet")
	case prof.Height != 0:
		return nil, usagef("--ladder takes its heights from its rungs, not --height")
	case prof.Codec != "" && prof.Codec != media.H264 && prof.Codec != media.H265:
		return nil, usagef("--codec: a ladder is h264 or h265, not %s", prof.Codec)
	case prof.AudioCodec != "" && prof.AudioCodec != media.AAC:
		return nil, usagef("--audio-codec: a ladder's audio is aac, not %s", prof.AudioCodec)
	}
	lad := &benchmarks.LadderOptions{}
	if o.ladder != "auto" {
		rungs, err := ladder.Parse(o.ladder)
		if err != nil {
			return nil, usagef("--ladder: %v", err)
		}
		lad.Rungs = rungs
	}
	if o.segmentLength != "" {
		d, err := parseDuration(o.segmentLength)
		if err != nil {
			return nil, usagef("--segment-length: %v", err)
		}
		if d < 100*time.Millisecond {
			return nil, usagef("--segment-length: %q is shorter than 0.1s", o.segmentLength)
		}
		lad.SegmentLength = d
	}
	return lad, nil
}
