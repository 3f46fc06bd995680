package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	manifests "github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// The plain ffmpeg cases of a ladder bench, its two baselines.
const (
	// FFmpegLadder is one plain ffmpeg process that decodes once and
	// splits to one encoder per rung, with the audio
	// (transcode.LadderBaselineArgs): the efficient way by hand, and the
	// reference every rung's SSIM is measured against.
	FFmpegLadder = "ffmpeg-ladder"
	// FFmpegPerRung is one plain ffmpeg process per rung, run one after
	// another, video only (transcode.RungBaselineArgs): what scripts
	// usually do.
	FFmpegPerRung = "ffmpeg-per-rung"
)

// LadderBaselines are the baselines of a ladder bench, in column order.
var LadderBaselines = []string{FFmpegLadder, FFmpegPerRung}

// LadderOptions make a bench of a streaming ladder (HLS, CMAF segments)
// instead of one output file: the two plain ffmpeg baselines, then
// chunkcode's local ladder at every worker count.
type LadderOptions struct {
	// Rungs are the rungs, highest first, as ladder.Parse returns them;
	// nil takes ladder.Auto for each input.
	Rungs []ladder.Rung
	// SegmentLength is the media segment length; 0 is
	// transcode.DefaultSegmentLength.
	SegmentLength time.Duration
}

// LadderSettings are a ladder bench's settings as the report shows them.
type LadderSettings struct {
	// Rungs are the heights asked for; empty for auto, whose rungs each
	// input lists.
	Rungs         []int   `json:"rungs,omitempty"`
	SegmentLength float64 `json:"segment_length_seconds"`
}

// Rung is one rung of a ladder run's output.
type Rung struct {
	Height      int `json:"height"`
	Width       int `json:"width"`
	MaxrateKbps int `json:"maxrate_kbps"`
	// Bytes are the rung's video: its initialization and media
	// segments, as its media playlist names them.
	Bytes int64 `json:"bytes,omitempty"`
	// SSIM compares the rung with the same rung of the first
	// ffmpeg-ladder run; absent when not measured.
	SSIM float64 `json:"ssim,omitempty"`
}

// rungsFor returns the rungs of o for a source displayed at w×h, as a
// ladder run would choose them.
func (o *LadderOptions) rungsFor(w, h int) ([]ladder.Rung, error) {
	if o.Rungs == nil {
		rungs := ladder.Auto(w, h)
		if len(rungs) == 0 {
			return nil, fmt.Errorf("no ladder rung for a %dx%d source", w, h)
		}
		return rungs, nil
	}
	for _, r := range o.Rungs {
		if r.Height > h {
			return nil, fmt.Errorf("rung %dp is above the source's displayed height %d; a ladder never upscales", r.Height, h)
		}
	}
	return ladder.Sized(o.Rungs, w, h), nil
}

// displayed returns m's displayed video size, after rotation.
func displayed(m *media.Media) (w, h int) {
	v := m.Video
	if v == nil {
		return 0, 0
	}
	if v.Rotation%180 != 0 {
		return v.Height, v.Width
	}
	return v.Width, v.Height
}

// rungPlaylist is where the media playlist of rung i of a ladder case's
// output directory dir is.
func rungPlaylist(backend, dir string, i int, r ladder.Rung) string {
	switch backend {
	case FFmpegLadder:
		return filepath.Join(dir, fmt.Sprintf("v%d", i), "index.m3u8")
	case FFmpegPerRung:
		return filepath.Join(dir, transcode.RungDir(r), "index.m3u8")
	}
	return filepath.Join(dir, transcode.RungDir(r), "playlist.m3u8")
}

// runLadderBaseline runs one of the plain ffmpeg ladders into dir.
func (b *bench) runLadderBaseline(ctx context.Context, in *InputInfo, backend, dir string) error {
	r := b.cfg.Runner
	if b.cfg.BaselineEnv == BaselineTuned {
		r = r.WithHugePages()
	}
	length := b.cfg.Ladder.SegmentLength
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if backend == FFmpegLadder {
		if err := r.Run(ctx, transcode.LadderBaselineArgs(in.media, in.rungs, b.cfg.Profile, length, dir), nil); err != nil {
			return fmt.Errorf("run ffmpeg: %w", err)
		}
		return nil
	}
	for _, rung := range in.rungs {
		d := filepath.Join(dir, transcode.RungDir(rung))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := r.Run(ctx, transcode.RungBaselineArgs(in.media, rung, b.cfg.Profile, length, d), nil); err != nil {
			return fmt.Errorf("run ffmpeg for %dp: %w", rung.Height, err)
		}
	}
	return nil
}

// measureRungs fills r.Rungs from the case's output directory dir, and
// writes every rung as one fragmented MP4 beside dir, named by
// rungFile, for SSIM.
func measureRungs(in *InputInfo, backend, dir string, r *Run) error {
	for i, rung := range in.rungs {
		n, err := joinRung(rungPlaylist(backend, dir, i, rung), rungFile(dir, i))
		if err != nil {
			return fmt.Errorf("rung %dp: %w", rung.Height, err)
		}
		r.Rungs = append(r.Rungs, Rung{Height: rung.Height, Width: rung.Width, MaxrateKbps: rung.MaxrateKbps, Bytes: n})
	}
	return nil
}

// rungFile is the single file rung i of the case in dir is joined into.
func rungFile(dir string, i int) string { return dir + fmt.Sprintf("-rung%d.mp4", i) }

// joinRung writes the initialization segment and the media segments the
// media playlist at path names, in order, into out, one fragmented MP4,
// and returns their bytes.
func joinRung(path, out string) (int64, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	p, err := manifests.ParsePlaylist(text)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if p.Init == "" || len(p.Segments) == 0 {
		return 0, fmt.Errorf("%s: no initialization or media segment", path)
	}
	names := []string{p.Init}
	for _, s := range p.Segments {
		names = append(names, s.URI)
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, name := range names {
		src, err := os.Open(filepath.Join(filepath.Dir(path), filepath.FromSlash(name)))
		if err != nil {
			f.Close()
			return 0, err
		}
		k, err := io.Copy(f, src)
		src.Close()
		n += k
		if err != nil {
			f.Close()
			return 0, err
		}
	}
	return n, f.Close()
}

// rungsSSIM measures every rung of r, joined beside dir, against the
// reference's.
func (b *bench) rungsSSIM(ctx context.Context, in *InputInfo, dir string, r *Run) error {
	for i := range r.Rungs {
		s, err := SSIM(ctx, b.cfg.Runner, rungFile(dir, i), rungFile(in.reference, i))
		if err != nil {
			return fmt.Errorf("measure ssim of %dp: %w", r.Rungs[i].Height, err)
		}
		r.Rungs[i].SSIM = s
	}
	return nil
}

// ladderSpeedups sets every run's speed-up against each baseline of the
// round, walls holding the baselines' wall times, and SpeedupVsFFmpeg to
// the one against the one-process ladder.
func ladderSpeedups(runs []Run, walls map[string]float64) {
	for j := range runs {
		r := &runs[j]
		if r.Failed() || r.WallSeconds <= 0 {
			continue
		}
		for _, base := range LadderBaselines {
			if w := walls[base]; w > 0 && base != r.Backend {
				if r.SpeedupVs == nil {
					r.SpeedupVs = map[string]float64{}
				}
				r.SpeedupVs[base] = w / r.WallSeconds
			}
		}
		r.SpeedupVsFFmpeg = r.SpeedupVs[FFmpegLadder]
	}
}

// checkLadder checks and completes a ladder bench's configuration.
func (c *Config) checkLadder() error {
	if c.Ladder == nil {
		return nil
	}
	l := *c.Ladder // the defaults below are the bench's, not the caller's
	c.Ladder = &l
	switch {
	case c.Profile.Codec != media.H264 && c.Profile.Codec != media.H265:
		return fmt.Errorf("a ladder is encoded with h264 or h265, not %s", c.Profile.Codec)
	case c.Profile.Height != 0:
		return errors.New("a ladder takes its heights from its rungs, not a height")
	case c.Profile.AudioCodec != "" && c.Profile.AudioCodec != media.AAC:
		return fmt.Errorf("a ladder's audio is AAC, not %s", c.Profile.AudioCodec)
	}
	for _, b := range c.Backends {
		if b != FFmpeg && b != Local {
			return fmt.Errorf("a ladder bench runs plain ffmpeg and the local pool, not %s", b)
		}
	}
	c.Profile.AudioCodec = media.AAC
	if c.Profile.AudioBitrate == "" {
		c.Profile.AudioBitrate = transcode.DefaultLadderAudioBitrate
	}
	if c.Ladder.SegmentLength == 0 {
		c.Ladder.SegmentLength = transcode.DefaultSegmentLength
	}
	if c.Ladder.SegmentLength < 0 {
		return fmt.Errorf("segment length %v is negative", c.Ladder.SegmentLength)
	}
	return nil
}

// ladderSettings describes o for the report.
func ladderSettings(o *LadderOptions) *LadderSettings {
	if o == nil {
		return nil
	}
	s := &LadderSettings{SegmentLength: o.SegmentLength.Seconds()}
	for _, r := range o.Rungs {
		s.Rungs = append(s.Rungs, r.Height)
	}
	return s
}

// describeRungs writes rungs as "720p 1280x720 max 4500k, …".
func describeRungs(rungs []Rung) string {
	parts := make([]string, len(rungs))
	for i, r := range rungs {
		parts[i] = strconv.Itoa(r.Height) + "p " + strconv.Itoa(r.Width) + "x" + strconv.Itoa(r.Height) + " max " + strconv.Itoa(r.MaxrateKbps) + "k"
	}
	return strings.Join(parts, ", ")
}

// projectLadderRun is the projected wall time of a ladder run whose chunks
// cost chunks on n functions:
//
//	wall = fixed + max(audio, critical path)
//
// fixed being the stages on the machine that runs chunkcode (probe, plan,
// assembling and manifests, verify), audio the audio encode beside the
// chunks, and the critical path the busiest function's time when the
// chunks are handed out longest first, each to the function free soonest.
// It leaves out every cost of a function beyond its encode: invocation,
// reading the source and writing the segments back.
func projectLadderRun(fixed, audio float64, chunks []segmentCost, n int) (wall, critical float64) {
	critical = makespan(chunks, n)
	return fixed + max(audio, critical), critical
}

// projectLadder projects a ladder input's wall time on n functions from
// the per-frame chunk encode times of the basis run, for the chunk plan
// of n workers.
func projectLadder(rep *Report, in InputInfo, n int, o *LadderOptions, chunkDur time.Duration) Projection {
	p := Projection{OverheadSource: "left out", ThroughputSource: "left out"}
	basis, ok := projectionBasis(rep, in, &p)
	if !ok {
		return p
	}
	plan, err := splitter.Align(in.media, o.SegmentLength, chunkDur, n)
	if err != nil {
		p.Error = fmt.Sprintf("plan: %v", err)
		return p
	}
	rates := newFrameRates(basis.results)
	costs := make([]segmentCost, len(plan.Chunks))
	for i, c := range plan.Chunks {
		enc, _ := rates.over(c.First, c.Frames)
		costs[i] = segmentCost{frames: c.Frames, seconds: enc}
	}
	st := basis.Stages
	p.Segments = len(plan.Chunks)
	p.Fixed = st.Probe + st.Plan + st.Merge + st.Verify
	p.Audio = st.Audio
	p.WallSeconds, p.CriticalPath = projectLadderRun(p.Fixed, p.Audio, costs, n)
	for _, base := range LadderBaselines {
		if w := medianWall(rep.Runs, in.Name, base); w > 0 && p.WallSeconds > 0 {
			if p.SpeedupVs == nil {
				p.SpeedupVs = map[string]float64{}
			}
			p.SpeedupVs[base] = w / p.WallSeconds
		}
	}
	p.SpeedupVsFFmpeg = p.SpeedupVs[FFmpegLadder]
	return p
}

// describeLadder names the rungs asked for, or auto with the rungs of
// each input.
func (r *Report) describeLadder() string {
	if l := r.Settings.Ladder; len(l.Rungs) > 0 {
		parts := make([]string, len(l.Rungs))
		for i, h := range l.Rungs {
			parts[i] = strconv.Itoa(h) + "p"
		}
		return "rungs " + strings.Join(parts, ", ")
	}
	var parts []string
	for _, in := range r.Inputs {
		parts = append(parts, in.Name+": "+describeRungs(in.Rungs))
	}
	return "auto rungs (" + strings.Join(parts, "; ") + ")"
}

// writeLadderMarkdown writes a ladder bench's speed-ups against each
// baseline and its rungs.
func (r *Report) writeLadderMarkdown(ew *errWriter) {
	if len(r.Results) == 0 {
		return
	}
	ew.printf("\n### Speed-up against each baseline (median, min–max)\n\n")
	head := []string{"Input", "Case"}
	for _, base := range LadderBaselines {
		head = append(head, "vs "+base)
	}
	ew.row(append(head, "CPU s", "CPU vs "+FFmpegLadder))
	ew.sep(len(head)+2, true)
	for _, res := range r.Results {
		row := []string{res.Input, res.Case}
		for _, base := range LadderBaselines {
			v, ok := res.SpeedupVs[base]
			row = append(row, statCell(v, "×", ok && v.Median > 0))
		}
		cpu := "–"
		if ref, ok := r.result(res.Input, FFmpegLadder); ok && ref.CPU.Median > 0 && res.CPU.Median > 0 {
			cpu = fmt.Sprintf("%.2f", res.CPU.Median/ref.CPU.Median)
		}
		ew.row(append(row, secs(res.CPU.Median), cpu))
	}

	ew.printf("\n### Rungs (median bytes of video per rung; lowest SSIM against %s's first run)\n\n", FFmpegLadder)
	ew.row([]string{"Input", "Case", "Rung", "Bytes", "vs " + FFmpegLadder, "SSIM"})
	ew.sep(6, true)
	for _, res := range r.Results {
		ref, _ := r.result(res.Input, FFmpegLadder)
		for i, g := range res.Rungs {
			vs, ssim := "–", "–"
			if i < len(ref.Rungs) && ref.Rungs[i].Bytes > 0 {
				vs = fmt.Sprintf("%+.1f%%", 100*(float64(g.Bytes)/float64(ref.Rungs[i].Bytes)-1))
			}
			if g.SSIM > 0 {
				ssim = fmt.Sprintf("%.4f", g.SSIM)
			}
			ew.row([]string{res.Input, res.Case, fmt.Sprintf("%dp %dx%d", g.Height, g.Width, g.Height),
				strconv.FormatInt(g.Bytes, 10), vs, ssim})
		}
	}
}

// writeLadderProjections writes a ladder bench's projections.
func (r *Report) writeLadderProjections(ew *errWriter) {
	ew.printf("\n### Projection of the ladder on parallel functions (projection, not measured)\n\n")
	ew.printf("wall = probe + plan + max(audio, critical path of the chunks handed out longest first) + assembling and manifests + verify; " +
		"per-frame chunk encode times from the basis run; no invocation, staging or download cost; see BENCHMARKS.md.\n\n")
	head := []string{"Input", "Functions", "Chunks", "Projected wall s"}
	for _, base := range LadderBaselines {
		head = append(head, "vs "+base)
	}
	head = append(head, "Critical path", "Audio", "Fixed", "Basis")
	ew.row(head)
	ew.sep(len(head), true)
	for _, p := range r.Projections {
		if p.Error != "" {
			ew.row([]string{p.Input, strconv.Itoa(p.Concurrency), "", "projection failed: " + p.Error, "", "", "", "", "", ""})
			continue
		}
		row := []string{p.Input, strconv.Itoa(p.Concurrency), strconv.Itoa(p.Segments), secs(p.WallSeconds)}
		for _, base := range LadderBaselines {
			row = append(row, speedup(p.SpeedupVs[base]))
		}
		ew.row(append(row, secs(p.CriticalPath), secs(p.Audio), secs(p.Fixed), p.Basis))
	}
}
