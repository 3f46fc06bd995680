package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type probeOptions struct {
	json            bool
	workers         int
	segmentDuration string
	input           string // INPUT
}

func (o *probeOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.IntVarP(&o.workers, "workers", "w", 0, "plan for this many workers (default: one per core)")
	f.StringVar(&o.segmentDuration, "segment-duration", "", "plan with this target segment length")
}

// probeReport is what `chunkcode probe --json` prints.
type probeReport struct {
	Path        string         `json:"path"`
	Format      string         `json:"format"`
	Duration    float64        `json:"duration_seconds"`
	Size        int64          `json:"size_bytes"`
	Frames      int            `json:"frames"`
	FrameRate   string         `json:"frame_rate"`
	VFR         bool           `json:"vfr"`
	Rotation    int            `json:"rotation"`
	Keyframes   int            `json:"keyframes"`
	Chapters    int            `json:"chapters"`
	Streams     []media.Stream `json:"streams"`
	Plan        *splitter.Plan `json:"plan"`
	PlanWorkers int            `json:"plan_workers"`
}

// newProbeCommand returns the probe command. It runs runF with the parsed
// options instead of probing when runF is not nil.
func newProbeCommand(d *deps, runF func(*probeOptions) error) *cobra.Command {
	o := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe INPUT",
		Short: "Show INPUT's streams, timing, keyframes and the segment plan",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.input = args[0]
			if runF != nil {
				return runF(o)
			}
			return runProbe(cmd.Context(), d, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runProbe(ctx context.Context, d *deps, o *probeOptions) error {
	segDur, err := parseDuration(o.segmentDuration)
	if err != nil {
		return usagef("--segment-duration: %v", err)
	}
	if strings.HasPrefix(o.input, "s3://") {
		return usagef("%s: probe reads local files only; `chunkcode transcode --backend lambda` probes an s3:// INPUT on Lambda", o.input)
	}
	m, err := d.runner.Probe(ctx, o.input)
	if err != nil {
		return err
	}
	workers := o.workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	plan, err := splitter.New(m, splitter.Options{Workers: workers, SegmentDuration: segDur})
	if err != nil {
		return fmt.Errorf("%s: %w", o.input, err)
	}
	r := probeReport{
		Path: m.Path, Format: m.Format, Duration: m.Duration, Size: m.Size,
		Frames: len(m.Frames), FrameRate: m.Video.FrameRate, VFR: m.VFR(),
		Rotation: m.Video.Rotation, Keyframes: m.Keyframes(), Chapters: m.Chapters,
		Streams: m.Streams, Plan: plan, PlanWorkers: workers,
	}
	if o.json {
		enc := json.NewEncoder(d.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printProbe(d.stdout, r)
	return nil
}

func printProbe(w io.Writer, r probeReport) {
	mode := "CFR"
	if r.VFR {
		mode = "VFR"
	}
	fmt.Fprintf(w, "%s: %s, %.3fs, %d bytes, %d chapters\n", r.Path, r.Format, r.Duration, r.Size, r.Chapters)
	fmt.Fprintf(w, "video: %d frames, %s fps (%s), %d keyframes, rotation %d\n", r.Frames, r.FrameRate, mode, r.Keyframes, r.Rotation)
	for _, s := range r.Streams {
		var d []string
		switch s.Type {
		case "video":
			d = append(d, fmt.Sprintf("%dx%d", s.Width, s.Height), s.PixFmt)
		case "audio":
			d = append(d, fmt.Sprintf("%d Hz", s.SampleRate), fmt.Sprintf("%d ch", s.Channels))
		}
		if s.Language != "" {
			d = append(d, "lang "+s.Language)
		}
		if s.Cover {
			d = append(d, "cover picture")
		}
		fmt.Fprintf(w, "  #%d %s %s %s (%.3fs)\n", s.Index, s.Type, s.Codec, strings.Join(d, ", "), s.Duration())
	}
	p := r.Plan
	fmt.Fprintf(w, "plan for %d workers: %d segments of about %s, %d starting on keyframes\n",
		r.PlanWorkers, len(p.Segments), p.Target, p.KeyframeCuts())
	for _, s := range p.Segments {
		kind := "exact frame"
		if s.Keyframe {
			kind = "keyframe"
		}
		fmt.Fprintf(w, "  segment %d: frames %d-%d (%d), start %.3fs, %.3fs, %s\n",
			s.Index, s.First, s.First+s.Frames-1, s.Frames, float64(s.SeekMicros)/1e6, p.Duration(s), kind)
	}
}
