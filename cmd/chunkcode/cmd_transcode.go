package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// encodeOptions are the flags that say how to encode, shared by transcode
// and bench.
type encodeOptions struct {
	codec           string
	crf             int
	preset          string
	height          int
	audioCodec      string
	audioBitrate    string
	segmentDuration string
}

func (o *encodeOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.codec, "codec", "", "video codec: h264, h265, vp9 or av1 (libx264, libx265, libvpx-vp9, libsvtav1); default: h264, vp9 for .webm")
	o.crf = -1
	f.Var((*optionalInt)(&o.crf), "crf", "quality; default per codec: h264 23, h265 28, vp9 31, av1 35")
	f.StringVar(&o.preset, "preset", "", "encoder preset: x264/x265 names (medium…), vp9 cpu-used 0-8, av1 0-13; default the encoder's")
	f.IntVar(&o.height, "height", 0, "scale to this displayed height, keeping the aspect ratio (0 keeps the size)")
	f.StringVar(&o.audioCodec, "audio-codec", "", "audio codec: aac, opus, mp3, ac3, flac, vorbis or copy; default per container")
	f.StringVar(&o.audioBitrate, "audio-bitrate", "", "audio bitrate in kbit/s, 1-1536: 128 and 128k are both 128 kbit/s; default the encoder's")
	f.StringVar(&o.segmentDuration, "segment-duration", "", "target segment length, for example 10s or 10; default automatic")
}

// profile returns the encoding profile; a value that cannot be parsed is a
// usage error naming its flag.
func (o *encodeOptions) profile() (transcode.Profile, time.Duration, error) {
	var codec media.Codec // "": the container's default
	if o.codec != "" {
		var err error
		if codec, err = media.ParseCodec(o.codec); err != nil {
			return transcode.Profile{}, 0, usagef("--codec: %v", err)
		}
	}
	d, err := parseDuration(o.segmentDuration)
	if err != nil {
		return transcode.Profile{}, 0, usagef("--segment-duration: %v", err)
	}
	bitrate, err := parseAudioBitrate(o.audioBitrate)
	if err != nil {
		return transcode.Profile{}, 0, usagef("--audio-bitrate: %v", err)
	}
	p := transcode.Profile{
		Codec: codec, Preset: o.preset, Height: o.height,
		AudioCodec: media.AudioCodec(strings.ToLower(o.audioCodec)), AudioBitrate: bitrate,
	}
	if o.crf >= 0 {
		p.CRF = transcode.CRF(o.crf)
	}
	return p, d, nil
}

// optionalInt is an int flag whose unset value is -1, shown as no default.
type optionalInt int

func (v *optionalInt) String() string {
	if *v < 0 {
		return ""
	}
	return strconv.Itoa(int(*v))
}

func (v *optionalInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if n < 0 {
		return fmt.Errorf("%q is not a whole number from 0 up", s)
	}
	*v = optionalInt(n)
	return nil
}

func (v *optionalInt) Type() string { return "int" }

// parseDuration accepts Go durations ("1m30s") and plain seconds ("90").
// Its errors quote s as given.
func parseDuration(s string) (time.Duration, error) {
	if s == "" || s == "auto" {
		return 0, nil
	}
	text := s
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a duration (for example 10s)", s)
		}
		text = strconv.FormatFloat(f, 'f', -1, 64) + "s"
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (for example 10s)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return d, nil
}

// maxAudioKbps is the highest audio bitrate accepted, in kbit/s: AC-3's
// and more than any of the audio encoders uses.
const maxAudioKbps = 1536

// parseAudioBitrate reads an --audio-bitrate in kbit/s: a whole number with
// or without a "k" ("128", "128k"). It returns ffmpeg's spelling ("128k"),
// or "" for "".
func parseAudioBitrate(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(s), "k"))
	if err != nil || n <= 0 {
		return "", fmt.Errorf("%q is not a bitrate in kbit/s (for example 128 or 128k)", s)
	}
	if n > maxAudioKbps {
		return "", fmt.Errorf("%q kbit/s is too high (at most %d; the value is in kbit/s)", s, maxAudioKbps)
	}
	return strconv.Itoa(n) + "k", nil
}

type transcodeOptions struct {
	encodeOptions
	ladderOptions
	ladderS3Options
	backendOptions
	progressOptions
	observeOptions
	workers    int
	threads    int
	workDir    string
	resume     bool
	keep       bool
	retries    int
	json       bool
	noProgress bool
	playlists  bool
	noClobber  bool
	input      string // INPUT
	output     string // OUTPUT
}

func (o *transcodeOptions) AddFlags(f *pflag.FlagSet) {
	o.encodeOptions.AddFlags(f)
	o.ladderOptions.AddFlags(f)
	o.ladderS3Options.AddFlags(f)
	o.backendOptions.AddFlags(f)
	o.progressOptions.AddFlags(f)
	o.observeOptions.AddFlags(f)
	f.IntVarP(&o.workers, "workers", "w", 0, "segments encoded at once (default: one per core locally; on lambda 100, or one per --lambda-endpoint)")
	f.IntVar(&o.threads, "threads", 0, "ffmpeg threads per segment encode (default: locally, the cores shared by the segments encoded at once; on lambda, the function's cores)")
	f.StringVar(&o.workDir, "work-dir", "", "keep intermediates in this directory (needed for --resume)")
	f.BoolVar(&o.resume, "resume", false, "reuse verified segments from an earlier run in --work-dir")
	f.BoolVar(&o.keep, "keep", false, "keep intermediates")
	f.IntVar(&o.retries, "retries", transcode.DefaultRetries, "times a failed segment is retried")
	f.BoolVar(&o.json, "json", false, "print a JSON summary on stdout")
	f.BoolVar(&o.noProgress, "no-progress", false, "print one line per finished segment instead of a progress bar")
	f.BoolVarP(&o.noClobber, "no-clobber", "n", false, "fail if OUTPUT exists, before any work, instead of replacing it at the end")
	f.BoolVar(&o.playlists, "allow-playlists", false, "read an INPUT that is a playlist or concat list (HLS, DASH, ffconcat), and the files it names")
}

// newTranscodeCommand returns the transcode command. It runs runF with the
// parsed options instead of transcoding when runF is not nil.
func newTranscodeCommand(d *deps, runF func(*transcodeOptions) error) *cobra.Command {
	o := &transcodeOptions{}
	cmd := &cobra.Command{
		Use:   "transcode INPUT OUTPUT",
		Short: "Transcode INPUT to OUTPUT in parallel segments",
		Long: `Transcode INPUT to OUTPUT by encoding segments in parallel and joining them.
The output container follows OUTPUT's extension: .mp4, .mov, .mkv or .webm.
OUTPUT is written to a temporary file beside it and renamed into place only
once its frame count and audio have been checked against INPUT.

An OUTPUT ending in .m3u8 (HLS) or .mpd (DASH) is a streaming ladder: every
rung in CMAF segments beside OUTPUT, each chunk decoded once and encoded to
every rung, with AAC audio (--audio-bitrate, default 128k). The ladder is
built beside OUTPUT's directory and moved into place once verified. Ladders
are h264 (the default) or h265, which Safari plays but Chromium does not.

With --backend lambda a ladder OUTPUT may be s3://bucket/prefix/master.m3u8
(or .mpd): the functions upload the segments to a staging prefix, and once
what they report verifies, the segments are copied server-side into a new
directory under the prefix and the playlists written last.`,
		Example: `  chunkcode transcode in.mov out.mp4
  chunkcode transcode --codec vp9 --height 720 in.mp4 out.webm
  chunkcode transcode --work-dir work --resume in.mkv out.mkv
  chunkcode transcode --manifests hls,dash in.mp4 ladder/master.m3u8`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.input, o.output = args[0], args[1]
			o.ladderOptions.changed(cmd.Flags())
			o.ladderS3Options.changed(cmd.Flags())
			o.backendOptions.changed(cmd.Flags())
			if runF != nil {
				return runF(o)
			}
			return runTranscode(cmd.Context(), d, o)
		},
	}
	o.AddFlags(cmd.Flags())
	completeFlagValues(cmd)
	return cmd
}

func runTranscode(ctx context.Context, d *deps, o *transcodeOptions) (err error) {
	in, out := o.input, o.output
	prof, segDur, err := o.profile()
	if err != nil {
		return err
	}
	if err := o.check(prof); err != nil {
		return err
	}
	req := transcode.Request{
		Input: in, Output: out, Profile: prof, SegmentDuration: segDur,
		WorkDir: o.workDir, Resume: o.resume, Keep: o.keep, Retries: o.retries,
		AllowPlaylists: o.playlists, NoClobber: o.noClobber,
	}
	if err := o.ladderOptions.request(&req); err != nil {
		return err
	}
	if err := checkSeekable(in, out); err != nil {
		return err
	}
	if o.noClobber {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s: already exists; --no-clobber keeps it", out)
		}
	}
	s3l, err := o.ladderS3Options.s3LadderOutput(out, o.backendOptions.name)
	if err != nil {
		return err
	}
	o.backendOptions.lambda.rungs = o.ladderS3Options.rungMode()
	dest, err := o.backendOptions.output(in, out)
	if s3l != nil {
		dest, err = &remoteOutput{local: out}, nil // published by the run
	}
	if err != nil {
		return err
	}
	defer dest.cleanup()
	prog, err := o.progressOptions.newProgress(d, o.noProgress)
	if err != nil {
		return err
	}
	next := prog.event
	var logs *eventLog
	if l := o.observeOptions.newLogger(d.stderr, o.progressOptions); l != nil {
		logs = newEventLog(l, d, o.verbose)
		next = logs.event
	}
	backend, remote, workers, err := o.backendOptions.backend(ctx, d, o.workers)
	if err != nil {
		return err
	}
	req.Profile.Threads = o.threads // 0: the pipeline chooses
	req.Output, req.Workers = dest.local, workers
	if s3l != nil {
		if req.Publish, err = remote.Publish(s3l.target, s3l.options); err != nil {
			return err
		}
	}
	if err := d.runner.Check(); err != nil {
		return err
	}
	tr, err := o.observeOptions.startTracing(ctx)
	if err != nil {
		return err
	}
	events := &holdWarnings{next: next}
	// After an interrupt or a failure too: the spans say where it stopped.
	defer func() { err = tr.end(ctx, err, d.stderr, logs) }()
	p := &transcode.Pipeline{Runner: d.runner, Backend: backend, Notify: events.event, Recorder: tr.rec}
	sum, err := p.Run(ctx, req)
	if se := (*transcode.SettingError)(nil); errors.As(err, &se) {
		err = settingUsage(se)
	}
	if err == nil {
		err = dest.finish(ctx, remote)
		sum.Output = out
	}
	if err != nil {
		prog.finish(false)
		if len(events.held) > 0 {
			return &warnedError{err: err, warnings: events.held}
		}
		return err
	}
	events.flush()
	prog.finish(true)
	if logs != nil {
		logs.done(sum)
	}
	var summary any = sum
	var cost *lambda.LadderCost
	if remote != nil && len(sum.Rungs) > 0 {
		if cost, err = ladderCost(sum, remote); err != nil {
			return err
		}
		summary = ladderSummary{Summary: sum, Cost: cost}
	}
	if o.json {
		enc := json.NewEncoder(d.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(summary)
	}
	if o.quiet || logs != nil {
		return nil
	}
	if len(sum.Rungs) > 0 {
		var rungs []string
		for _, r := range sum.Rungs {
			rungs = append(rungs, fmt.Sprintf("%dp", r.Height))
		}
		fmt.Fprintf(d.stderr, "%s: %s (%s) of %s in %s each, %.1fs (%.2fx realtime)\n",
			strings.Join(sum.Manifests, ", "), plural(len(sum.Rungs), "rung"), strings.Join(rungs, " "),
			plural(sum.Frames, "frame"), plural(sum.Rungs[0].Segments, "segment"), sum.WallSeconds, sum.Speed)
		if cost != nil {
			fmt.Fprintf(d.stderr, "lambda: %s, %.1f GB-s, $%.4f (estimated)\n", plural(cost.Total.Invocations, "invocation"), cost.Total.GBSeconds, cost.Total.USD)
		}
		return nil
	}
	fmt.Fprintf(d.stderr, "%s: %s in %s, %.1fs (%.2fx realtime)\n",
		out, plural(sum.Frames, "frame"), plural(sum.Segments, "segment"), sum.WallSeconds, sum.Speed)
	if sum.WorkDir != "" {
		fmt.Fprintf(d.stderr, "intermediates kept in %s\n", sum.WorkDir)
	}
	return nil
}

// holdWarnings passes pipeline events on to next, except that it holds
// each warning back until another event comes: the warnings of a failed
// run's clean-up, which come last, are left in held, to print after the
// run's error.
type holdWarnings struct {
	next func(transcode.Event)
	held []error
}

func (h *holdWarnings) event(e transcode.Event) {
	if e.Kind == transcode.EventWarning {
		h.held = append(h.held, e.Err)
		return
	}
	h.flush()
	h.next(e)
}

// flush passes on the warnings held.
func (h *holdWarnings) flush() {
	for _, err := range h.held {
		h.next(transcode.Event{Kind: transcode.EventWarning, Err: err})
	}
	h.held = nil
}

// check reports the usage errors in o that need no file: flags that
// contradict one another or are out of range, and operands that are not
// files, such as "-".
func (o *transcodeOptions) check(prof transcode.Profile) error {
	switch {
	case o.resume && o.workDir == "":
		return usagef("--resume needs --work-dir")
	case o.workers < 0:
		return usagef("--workers must not be negative")
	case o.retries < 0:
		return usagef("--retries must not be negative")
	case o.threads < 0:
		return usagef("--threads must not be negative")
	}
	if err := o.backendOptions.check(); err != nil {
		return err
	}
	if err := o.observeOptions.check(o.input, o.output); err != nil {
		return err
	}
	if err := checkOperandNames(o.input, o.output); err != nil {
		return err
	}
	if o.noClobber && strings.HasPrefix(o.output, "s3://") {
		return usagef("--no-clobber works with a local OUTPUT only")
	}
	if c, err := media.ContainerFor(o.output); err == nil && prof.Codec != "" && !c.Holds(prof.Codec) {
		return usagef("%s cannot hold %s video; use --codec %s", o.output, prof.Codec, orList(c.Video))
	}
	return nil
}

// orList joins items as "a, b or c".
func orList[S ~string](items []S) string {
	s := names(items)
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// settingFlags maps a transcode.SettingError's setting to its flag.
var settingFlags = map[string]string{
	"codec": "--codec", "crf": "--crf", "preset": "--preset", "height": "--height",
	"threads": "--threads", "audio_codec": "--audio-codec", "audio_bitrate": "--audio-bitrate",
	"ladder": "--ladder", "manifests": "--manifests",
}

// settingUsage turns a setting that can never work into a usage error
// naming its flag.
func settingUsage(se *transcode.SettingError) error {
	if flag, ok := settingFlags[se.Setting]; ok {
		return usagef("%s: %v", flag, se.Err)
	}
	return se
}
