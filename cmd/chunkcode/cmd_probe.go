package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chunkcode/chunkcode/merger"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// defaultProbeOutput is the OUTPUT probe plans for when none is given.
const defaultProbeOutput = "out.mp4"

type probeOptions struct {
	encodeOptions
	backendOptions
	workers       int
	threads       int
	playlists     bool
	json          bool
	printCommands bool
	workDir       string
	input         string // INPUT
	output        string // OUTPUT, never written
}

func (o *probeOptions) AddFlags(f *pflag.FlagSet) {
	o.encodeOptions.AddFlags(f)
	o.backendOptions.AddFlags(f)
	f.IntVarP(&o.workers, "workers", "w", 0, "plan for this many segments encoded at once (default: as transcode's)")
	f.IntVar(&o.threads, "threads", 0, "plan for this many ffmpeg threads per segment encode (default: as transcode's)")
	f.BoolVar(&o.playlists, "allow-playlists", false, "read an INPUT that is a playlist or concat list (HLS, DASH, ffconcat), and the files it names")
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.BoolVar(&o.printCommands, "print-commands", false, "also print the commands of a local transcode: each segment's encode, the audio's and the merge, for a shell")
	f.StringVar(&o.workDir, "work-dir", "chunkcode-work", "the directory the printed commands keep intermediates in")
}

// newProbeCommand returns the probe command. It runs runF with the parsed
// options instead of probing when runF is not nil.
func newProbeCommand(d *deps, runF func(*probeOptions) error) *cobra.Command {
	o := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe INPUT [OUTPUT]",
		Short: "Show INPUT's streams, timing, keyframes and the segment plan",
		Long: `Show INPUT's container, streams, frame rate and keyframes, and the plan
"chunkcode transcode INPUT OUTPUT" would follow with the same flags: its
segments, workers and threads. OUTPUT, default ` + defaultProbeOutput + `, is never written;
its extension picks the container, as transcode's does.

--print-commands also prints the ffmpeg commands of a local transcode, one
per line, quoted for a POSIX shell: each segment's encode, the audio's and
the merge, with the intermediates in --work-dir.`,
		Example: `  chunkcode probe in.mov
  chunkcode probe --codec vp9 --workers 8 in.mov out.webm
  chunkcode probe --print-commands in.mp4 out.mkv`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.input, o.output = args[0], defaultProbeOutput
			if len(args) > 1 {
				o.output = args[1]
			}
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
	prof, segDur, err := o.profile()
	if err != nil {
		return err
	}
	if o.workers < 0 || o.threads < 0 {
		return usagef("--workers and --threads must not be negative")
	}
	prof.Threads = o.threads // 0: as the pipeline chooses
	if transcode.IsLadder(o.output) {
		return usagef("%s: probe does not show a ladder's plan yet; give a file OUTPUT such as out.mp4, or run transcode", o.output)
	}
	if strings.HasPrefix(o.input, "s3://") {
		return usagef("%s: probe reads local files only; `chunkcode transcode --backend lambda` probes an s3:// INPUT on Lambda", o.input)
	}
	backend, _, workers, err := o.backendOptions.backend(ctx, d, o.workers)
	if err != nil {
		return err
	}
	props := backend.Properties()
	if o.printCommands && !props.SharesCores {
		return usagef("--print-commands shows the commands of a local transcode; drop --backend %s", props.Name)
	}
	if err := d.runner.Check(); err != nil {
		return err
	}
	var opts []string
	if !o.playlists {
		opts = ffmpeg.SelfContained()
	}
	m, err := d.runner.Probe(ctx, o.input, opts...)
	if err != nil {
		return err
	}
	plan, err := transcode.NewPlan(m, transcode.Request{
		Input: o.input, Output: o.output, Profile: prof, Workers: workers, SegmentDuration: segDur,
	}, props)
	if se := (*transcode.SettingError)(nil); errors.As(err, &se) {
		return settingUsage(se)
	}
	if err != nil {
		return err
	}
	r := newProbeReport(m, plan, o.output, props.Name)
	if o.printCommands {
		if r.Commands, err = localCommands(ctx, d.runner, m, plan, o.workDir, o.output); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(d.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printProbe(d.stdout, r)
	return nil
}

// probeReport is what `chunkcode probe --json` prints.
type probeReport struct {
	Path       string        `json:"path"`
	Format     string        `json:"format"`      // the container's common name
	FormatName string        `json:"format_name"` // ffprobe's
	Duration   decimal       `json:"duration_seconds"`
	Size       int64         `json:"size_bytes"`
	Chapters   int           `json:"chapters"`
	Frames     int           `json:"frames"`
	FrameRate  string        `json:"frame_rate"` // the video's nominal rate, ffprobe's r_frame_rate
	AverageFPS decimal       `json:"average_fps"`
	PeakFPS    decimal       `json:"peak_fps"`
	VFR        bool          `json:"vfr"`
	Rotation   int           `json:"rotation"`
	Keyframes  int           `json:"keyframes"`
	Streams    []probeStream `json:"streams"`
	Plan       probePlan     `json:"plan"`
	// Commands are those of a local transcode, with --print-commands.
	Commands []probeCommand `json:"commands,omitempty"`
}

type probeStream struct {
	Index      int     `json:"index"`
	Type       string  `json:"type"`
	Codec      string  `json:"codec"`
	Title      string  `json:"title,omitempty"`
	Language   string  `json:"language,omitempty"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	PixFmt     string  `json:"pix_fmt,omitempty"`
	FrameRate  string  `json:"frame_rate,omitempty"`
	Rotation   int     `json:"rotation,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
	Cover      bool    `json:"cover,omitempty"`
	TimeBase   string  `json:"time_base,omitempty"`
	Packets    int     `json:"packets"`
	Start      decimal `json:"start_seconds"`
	End        decimal `json:"end_seconds"`
	Duration   decimal `json:"duration_seconds"`
}

// probePlan is the plan of the transcode to Output.
type probePlan struct {
	Output       string         `json:"output"`
	Container    string         `json:"container"`
	Backend      string         `json:"backend"`
	Codec        string         `json:"codec"`
	CRF          int            `json:"crf"`
	Preset       string         `json:"preset,omitempty"`
	Height       int            `json:"height,omitempty"`
	AudioCodec   string         `json:"audio_codec,omitempty"`
	AudioBitrate string         `json:"audio_bitrate,omitempty"`
	Workers      int            `json:"workers"`
	Threads      int            `json:"threads_per_worker,omitempty"`
	Target       decimal        `json:"segment_duration_seconds"` // what the cuts aimed at
	Frames       int            `json:"frames"`
	KeyframeCuts int            `json:"keyframe_cuts"`
	TimeBase     string         `json:"time_base"`
	Segments     []probeSegment `json:"segments"`
}

type probeSegment struct {
	Index      int     `json:"index"` // from 1, as transcode's messages number them
	FirstFrame int     `json:"first_frame"`
	LastFrame  int     `json:"last_frame"`
	Frames     int     `json:"frames"`
	StartPTS   int64   `json:"start_pts"`
	EndPTS     int64   `json:"end_pts"`
	Seek       decimal `json:"seek_seconds"`
	Preroll    decimal `json:"preroll_seconds,omitempty"`
	Duration   decimal `json:"duration_seconds"`
	Keyframe   bool    `json:"keyframe"`
}

// probeCommand is one step of a local transcode: run Args, with Env added
// to the environment and, when set, standard output written to Stdout.
type probeCommand struct {
	Step   string   `json:"step"`
	Env    []string `json:"env,omitempty"`
	Args   []string `json:"args"` // the program first
	Stdout string   `json:"stdout,omitempty"`
}

// shell returns c as a POSIX shell command line.
func (c probeCommand) shell() string {
	s := shellJoin(append(append([]string{}, c.Env...), c.Args...))
	if c.Stdout != "" {
		s += " > " + shellQuote(c.Stdout)
	}
	return s
}

// decimal is a float64 that JSON shows with at most six decimals, so
// seconds read to the microsecond without float noise: 0.009, not
// 0.009000000000000001.
type decimal float64

func (v decimal) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(f*1e6)/1e6, 'f', -1, 64), nil
}

func newProbeReport(m *media.Media, plan *transcode.Plan, output string, backend transcode.BackendName) probeReport {
	avg, peak := m.FrameRates()
	r := probeReport{
		Path: m.Path, Format: media.FormatName(m.Format, m.Path), FormatName: m.Format,
		Duration: decimal(m.Duration), Size: m.Size, Chapters: m.Chapters,
		Frames: len(m.Frames), FrameRate: m.Video.FrameRate, AverageFPS: decimal(avg), PeakFPS: decimal(peak),
		VFR: m.VFR(), Rotation: m.Video.Rotation, Keyframes: m.Keyframes(),
	}
	for _, s := range m.Streams {
		ps := probeStream{
			Index: s.Index, Type: string(s.Type), Codec: s.Codec, Title: s.Title, Language: s.Language,
			Width: s.Width, Height: s.Height, PixFmt: s.PixFmt, Rotation: s.Rotation,
			SampleRate: s.SampleRate, Channels: s.Channels, Cover: s.Cover, Packets: s.Packets,
			Start: decimal(s.Start), End: decimal(s.End), Duration: decimal(s.Duration()),
		}
		if rate, err := media.ParseRational(s.FrameRate); err == nil && rate.Num > 0 && rate.Den > 0 {
			ps.FrameRate = s.FrameRate // audio and subtitles have "0/0"
		}
		if s.TimeBase.Den > 0 {
			ps.TimeBase = s.TimeBase.String()
		}
		r.Streams = append(r.Streams, ps)
	}
	p, prof := plan.Split, plan.Profile
	r.Plan = probePlan{
		Output: output, Container: strings.TrimPrefix(plan.Container.Ext, "."), Backend: string(backend),
		Codec: string(prof.Codec), CRF: prof.Quality(), Preset: prof.Preset, Height: prof.Height,
		AudioCodec: string(prof.AudioCodec), AudioBitrate: prof.AudioBitrate,
		Workers: plan.Workers, Threads: prof.Threads,
		Target: decimal(p.Target.Seconds()), Frames: p.Frames, KeyframeCuts: p.KeyframeCuts(),
		TimeBase: p.TimeBase.String(),
	}
	if len(m.StreamsOf(media.Audio)) == 0 {
		r.Plan.AudioCodec, r.Plan.AudioBitrate = "", ""
	}
	for _, s := range p.Segments {
		r.Plan.Segments = append(r.Plan.Segments, probeSegment{
			Index: s.Index + 1, FirstFrame: s.First, LastFrame: s.First + s.Frames - 1, Frames: s.Frames,
			StartPTS: s.StartPTS, EndPTS: s.EndPTS,
			Seek: decimal(float64(s.SeekMicros) / 1e6), Preroll: decimal(float64(s.PrerollMicros) / 1e6),
			Duration: decimal(p.Duration(s)), Keyframe: s.Keyframe,
		})
	}
	return r
}

// localCommands returns the commands a local transcode of m to output
// runs for plan, with its intermediates in workDir: create workDir, encode
// each segment and the audio, write the concat list and merge. A run writes
// each file beside its place and renames it there once checked; the
// commands write in place.
func localCommands(ctx context.Context, r ffmpeg.Runner, m *media.Media, plan *transcode.Plan, workDir, output string) ([]probeCommand, error) {
	dir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, err
	}
	program := r.FFmpeg
	if program == "" {
		program = "ffmpeg"
	}
	encoderEnv := r.WithHugePages().Env
	cmds := []probeCommand{{Step: "work directory", Args: []string{"mkdir", "-p", dir}}}
	for i, job := range plan.Jobs(m, dir) {
		cmds = append(cmds, probeCommand{
			Step: fmt.Sprintf("segment %d", i+1), Env: encoderEnv,
			Args: append([]string{program}, transcode.SegmentArgs(job)...),
		})
	}
	if audio := plan.AudioFile(m, dir); audio != "" {
		cmds = append(cmds, probeCommand{
			Step: "audio", Env: encoderEnv,
			Args: append([]string{program}, transcode.AudioArgs(m, plan.Profile, audio)...),
		})
	}
	// The merge's arguments come with its concat list, written in a
	// scratch directory here and printed as a command that writes it.
	scratch, err := os.MkdirTemp("", "chunkcode-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	spec := plan.MergeSpec(m, dir, output)
	spec.WorkDir = scratch
	args, err := merger.Args(ctx, r, spec)
	if err != nil {
		return nil, err
	}
	list, err := os.ReadFile(filepath.Join(scratch, merger.ConcatList))
	if err != nil {
		return nil, err
	}
	listPath := filepath.Join(dir, merger.ConcatList)
	for i, a := range args {
		if a == filepath.Join(scratch, merger.ConcatList) {
			args[i] = listPath
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(list), "\n"), "\n")
	cmds = append(cmds,
		probeCommand{Step: "concat list", Args: append([]string{"printf", `%s\n`}, lines...), Stdout: listPath},
		probeCommand{Step: "merge", Args: append([]string{program}, args...)},
	)
	return cmds, nil
}

func printProbe(w io.Writer, r probeReport) {
	fmt.Fprintf(w, "%s: %s, %.3fs, %d bytes, %s\n", r.Path, r.Format, float64(r.Duration), r.Size, plural(r.Chapters, "chapter"))
	rate := fmt.Sprintf("%s fps (CFR)", formatFPS(r.AverageFPS))
	if rt, err := media.ParseRational(r.FrameRate); err == nil && rt.Num > 0 && rt.Den > 0 {
		rate = fmt.Sprintf("%s fps (CFR)", formatFPS(decimal(rt.Float())))
	}
	if r.VFR {
		rate = fmt.Sprintf("VFR: %s fps average, %s fps peak", formatFPS(r.AverageFPS), formatFPS(r.PeakFPS))
	}
	line := fmt.Sprintf("video: %s, %s, %s", plural(r.Frames, "frame"), rate, plural(r.Keyframes, "keyframe"))
	if r.Rotation != 0 {
		line += fmt.Sprintf(", rotation %d", r.Rotation)
	}
	fmt.Fprintln(w, line)
	for _, s := range r.Streams {
		var d []string
		switch s.Type {
		case "video":
			d = append(d, fmt.Sprintf("%dx%d", s.Width, s.Height), s.PixFmt)
		case "audio":
			d = append(d, fmt.Sprintf("%d Hz", s.SampleRate), fmt.Sprintf("%d ch", s.Channels))
		}
		if s.Language != "" && s.Language != "und" {
			d = append(d, "lang "+s.Language)
		}
		if s.Title != "" {
			d = append(d, fmt.Sprintf("title %q", s.Title))
		}
		if s.Cover {
			d = append(d, "cover picture")
		}
		fmt.Fprintf(w, "  #%d %s %s %s (%.3fs)\n", s.Index, s.Type, s.Codec, strings.Join(d, ", "), float64(s.Duration))
	}
	p := r.Plan
	settings := []string{fmt.Sprintf("%s crf %d", p.Codec, p.CRF)}
	if p.Preset != "" {
		settings = append(settings, "preset "+p.Preset)
	}
	if p.Height != 0 {
		settings = append(settings, fmt.Sprintf("height %d", p.Height))
	}
	if p.AudioCodec != "" {
		settings = append(settings, p.AudioCodec+" audio")
	}
	workers := plural(p.Workers, "worker")
	if p.Threads > 0 {
		workers += " of " + plural(p.Threads, "thread")
	}
	fmt.Fprintf(w, "plan for %s (%s) on %s, %s:\n", p.Output, strings.Join(settings, ", "), p.Backend, workers)
	fmt.Fprintf(w, "  %s of about %ss, %d starting on a keyframe\n",
		plural(len(p.Segments), "segment"), strconv.FormatFloat(math.Round(float64(p.Target)*1000)/1000, 'f', -1, 64), p.KeyframeCuts)
	for _, s := range p.Segments {
		kind := "exact frame"
		if s.Keyframe {
			kind = "keyframe"
		}
		fmt.Fprintf(w, "  segment %d: frames %d-%d (%d), start %.3fs, %.3fs, %s\n",
			s.Index, s.FirstFrame, s.LastFrame, s.Frames, float64(s.Seek), float64(s.Duration), kind)
	}
	for _, c := range r.Commands {
		fmt.Fprintf(w, "# %s\n%s\n", c.Step, c.shell())
	}
}

// formatFPS formats a frame rate with up to three decimals: "25", "29.97".
func formatFPS(v decimal) string {
	return strconv.FormatFloat(math.Round(float64(v)*1000)/1000, 'f', -1, 64)
}
