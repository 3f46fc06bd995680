package benchmarks

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WriteJSON writes the whole report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// csvHeader names the columns WriteCSV writes.
var csvHeader = []string{
	"status", "input", "backend", "workers", "run", "wall_seconds", "cpu_seconds", "speedup_vs_ffmpeg", "x_realtime",
	"probe", "plan", "staging", "encode", "audio", "download", "merge", "verify",
	"segments", "retries", "output_bytes", "ssim", "invocations", "gb_seconds", "estimated_usd", "error",
}

// WriteCSV writes one row per measured run, status "ok" or "failed"; then
// a row per skipped backend, status "skipped" with the reason as its
// error; then a row per projection, status "projection", with the number of
// Lambdas as workers.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, run := range r.Runs {
		status := "ok"
		if run.Failed() {
			status = "failed"
		}
		st := run.Stages
		if st == nil {
			st = &Stages{}
		}
		u := run.Usage
		if u == nil {
			u = &Usage{}
		}
		cw.Write([]string{
			status, run.Input, run.Backend, strconv.Itoa(run.Workers), strconv.Itoa(run.Run),
			num(run.WallSeconds), num(run.CPUSeconds), num(run.SpeedupVsFFmpeg), num(run.Realtime),
			num(st.Probe), num(st.Plan), num(st.Staging), num(st.Encode), num(st.Audio), num(st.Download), num(st.Merge), num(st.Verify),
			strconv.Itoa(run.Segments), strconv.Itoa(run.Retries), strconv.FormatInt(run.OutputBytes, 10), num(run.SSIM),
			strconv.Itoa(u.Invocations), num(u.GBSeconds), num(u.USD), run.Error,
		})
	}
	blank := func(row []string) []string {
		for len(row) < len(csvHeader)-1 {
			row = append(row, "")
		}
		return row
	}
	for _, s := range r.Skipped {
		cw.Write(append(blank([]string{"skipped", "", s.Backend}), s.Reason))
	}
	for _, p := range r.Projections {
		row := blank([]string{"projection", p.Input, Lambda, strconv.Itoa(p.Concurrency), "0",
			num(p.WallSeconds), "", num(p.SpeedupVsFFmpeg)})
		row[slices.Index(csvHeader, "staging")] = num(p.Staging)
		row[slices.Index(csvHeader, "encode")] = num(p.CriticalPath)
		row[slices.Index(csvHeader, "audio")] = num(p.Audio)
		row[slices.Index(csvHeader, "segments")] = strconv.Itoa(p.Segments)
		cw.Write(append(row, p.Error))
	}
	cw.Flush()
	return cw.Error()
}

// num formats a measure for CSV: empty for 0, else up to 6 decimals.
func num(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// WriteMarkdown writes the report as Markdown: the table of the original
// serverless transcoder, with inputs as rows and backends as columns, then
// details, stages, Lambda usage, projections, skipped backends and
// failures.
func (r *Report) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	m, s := r.Machine, r.Settings
	cpu := ""
	if m.CPU != "" {
		cpu = " (" + m.CPU + ")"
	}
	load := ""
	if m.LoadStart > 0 || m.LoadEnd > 0 {
		load = fmt.Sprintf("; load average %.2f at the start, %.2f at the end", m.LoadStart, m.LoadEnd)
	}
	ew.printf("Machine: %d cores%s, %s, %s, %s%s.\n", m.Cores, cpu, m.OS, m.Go, m.FFmpeg, load)
	ew.printf("Encode: %s.\n", describeProfile(s))
	if w := m.LoadWarning(); w != "" {
		ew.printf("%s.\n", strings.ToUpper(w[:1])+w[1:])
	}
	ew.printf("Method: %d measured runs of every case after %d warm-up; %s.\n", s.Runs, s.Warmup, s.Order)
	if s.Ladder != nil {
		ew.printf("Ladder: %s, HLS with CMAF segments of %gs.\n", r.describeLadder(), s.Ladder.SegmentLength)
		ew.printf("Baselines: %s: %s in one process that decodes once and splits to an encoder per rung, with the audio; "+
			"%s: one process per rung, one after another, video only.\n", FFmpegLadder, describeBaseline(s.BaselineEnv), FFmpegPerRung)
		ew.printf("Cells: median wall seconds (min–max), and the median speed-up over each baseline run in the same round.\n\n")
	} else {
		ew.printf("Baseline: %s.\n", describeBaseline(s.BaselineEnv))
		ew.printf("Cells: median wall seconds (min–max), and the median speed-up over the plain ffmpeg run of the same round.\n\n")
	}

	// The original's table: inputs down, backends across.
	cols := append([]string{}, r.Cases...)
	for _, sk := range r.Skipped {
		cols = append(cols, sk.Backend)
	}
	ew.row(append([]string{"Input"}, cols...))
	ew.sep(len(cols)+1, false)
	for _, in := range r.Inputs {
		cells := []string{in.Name}
		for _, c := range cols {
			cells = append(cells, r.cell(in.Name, c))
		}
		ew.row(cells)
	}

	if len(r.Results) > 0 {
		ew.printf("\n### Details\n\n")
		ew.row([]string{"Input", "Case", "Wall s (min–max)", "Speed-up (min–max)", "CPU s", "×realtime", "Output MB", "SSIM", "Failed"})
		ew.sep(9, true)
		for _, res := range r.Results {
			ssim := "–"
			if res.SSIM > 0 {
				ssim = fmt.Sprintf("%.4f", res.SSIM)
			}
			ew.row([]string{res.Input, res.Case, statCell(res.Wall, "", res.Runs > res.Failed),
				statCell(res.Speedup, "×", res.Speedup.Median > 0), secs(res.CPU.Median), fmt.Sprintf("%.2f", res.Realtime),
				fmt.Sprintf("%.2f", float64(res.OutputBytes)/1e6), ssim, fmt.Sprintf("%d/%d", res.Failed, res.Runs)})
		}

		ew.printf("\n### Stages (median seconds; encode is the critical path, audio runs beside it)\n\n")
		ew.row([]string{"Input", "Case", "Probe", "Plan", "Staging", "Encode", "Audio", "Download", "Merge", "Verify"})
		ew.sep(10, true)
		for _, res := range r.Results {
			st := res.Stages
			if st == nil {
				continue
			}
			ew.row([]string{res.Input, res.Case, secs(st.Probe), secs(st.Plan), secs(st.Staging), secs(st.Encode),
				secs(st.Audio), secs(st.Download), secs(st.Merge), secs(st.Verify)})
		}
	}

	if s.Ladder != nil {
		r.writeLadderMarkdown(ew)
	}

	var lambda []Result
	for _, res := range r.Results {
		if res.Usage != nil {
			lambda = append(lambda, res)
		}
	}
	if len(lambda) > 0 {
		ew.printf("\n### Lambda usage (median per run)\n\n")
		ew.row([]string{"Input", "Workers", "Invocations", "Retries", "GB-seconds", "Estimated USD"})
		ew.sep(6, true)
		for _, res := range lambda {
			u := res.Usage
			ew.row([]string{res.Input, strconv.Itoa(res.Workers), strconv.Itoa(u.Invocations), strconv.Itoa(u.Retries),
				fmt.Sprintf("%.1f", u.GBSeconds), fmt.Sprintf("%.5f", u.USD)})
		}
	}

	if len(r.Projections) > 0 && s.Ladder != nil {
		r.writeLadderProjections(ew)
	} else if len(r.Projections) > 0 {
		ew.printf("\n### Projection on parallel Lambdas (projection, not measured)\n\n")
		ew.printf("wall = probe + plan + staging + max(audio, critical path) + merge + verify; see BENCHMARKS.md.\n\n")
		ew.row([]string{"Input", "Lambdas", "Segments", "Projected wall s", "Projected speed-up", "Critical path", "Staging",
			"Audio", "Fixed", "Overhead/invocation", "Staging MB/s", "Basis"})
		ew.sep(12, true)
		for _, p := range r.Projections {
			if p.Error != "" {
				ew.row([]string{p.Input, strconv.Itoa(p.Concurrency), "", "projection failed: " + p.Error, "", "", "", "", "", "", "", ""})
				continue
			}
			ew.row([]string{p.Input, strconv.Itoa(p.Concurrency), strconv.Itoa(p.Segments), secs(p.WallSeconds),
				speedup(p.SpeedupVsFFmpeg), secs(p.CriticalPath), secs(p.Staging), secs(p.Audio), secs(p.Fixed),
				fmt.Sprintf("%s (%s)", secs(p.InvocationOverhead), p.OverheadSource),
				fmt.Sprintf("%.0f (%s)", p.StagingThroughput/1e6, p.ThroughputSource), p.Basis})
		}
	}

	if len(r.Skipped) > 0 {
		ew.printf("\n")
		for _, sk := range r.Skipped {
			ew.printf("Skipped %s: %s\n", sk.Backend, oneLine(sk.Reason))
		}
	}
	var failures []string
	for _, run := range r.Runs {
		if run.Failed() {
			failures = append(failures, fmt.Sprintf("- %s, %s, run %d: %s", run.Input, run.Case(), run.Run, oneLine(run.Error)))
		}
	}
	if len(failures) > 0 {
		ew.printf("\nFailures:\n\n%s\n", strings.Join(failures, "\n"))
	}
	return ew.err
}

// cell is one cell of the main table.
func (r *Report) cell(input, c string) string {
	for _, sk := range r.Skipped {
		if sk.Backend == c {
			return "skipped"
		}
	}
	for _, res := range r.Results {
		if res.Input != input || res.Case != c {
			continue
		}
		if res.Failed == res.Runs {
			return "failed"
		}
		s := statCell(res.Wall, "", true)
		if len(res.SpeedupVs) > 0 {
			for _, base := range LadderBaselines {
				if v, ok := res.SpeedupVs[base]; ok {
					s += fmt.Sprintf(" %s vs %s", speedup(v.Median), base)
				}
			}
		} else if res.Backend != FFmpeg && res.Speedup.Median > 0 {
			s += " " + speedup(res.Speedup.Median)
		}
		if res.Failed > 0 {
			s += fmt.Sprintf(" (%d failed)", res.Failed)
		}
		return s
	}
	return "–"
}

func describeProfile(s Settings) string {
	p := s.Profile
	parts := []string{string(p.Codec), fmt.Sprintf("crf %d", p.Quality())}
	if p.Preset != "" {
		parts = append(parts, "preset "+p.Preset)
	} else {
		parts = append(parts, "default preset")
	}
	if p.Height > 0 {
		parts = append(parts, fmt.Sprintf("height %d", p.Height))
	}
	audio := string(p.AudioCodec)
	if audio == "" {
		audio = "default per container"
	}
	parts = append(parts, "audio "+audio)
	if p.AudioBitrate != "" {
		parts = append(parts, p.AudioBitrate)
	}
	switch {
	case s.Ladder != nil && s.SegmentDuration > 0:
		parts = append(parts, fmt.Sprintf("HLS segments of %gs, chunks of %gs", s.Ladder.SegmentLength, s.SegmentDuration))
	case s.Ladder != nil:
		parts = append(parts, fmt.Sprintf("HLS segments of %gs, automatic chunks", s.Ladder.SegmentLength))
	case s.SegmentDuration > 0:
		parts = append(parts, fmt.Sprintf("segments of %gs", s.SegmentDuration))
	default:
		parts = append(parts, "automatic segments")
	}
	return strings.Join(parts, ", ")
}

// statCell formats "12.3 (11.9–12.8)" with an optional prefix such as "×".
func statCell(s Stat, prefix string, ok bool) string {
	if !ok {
		return "–"
	}
	f := secs
	if prefix == "×" {
		f = func(v float64) string { return fmt.Sprintf("%.2f", v) }
	}
	if s.Min == s.Max {
		return prefix + f(s.Median)
	}
	return fmt.Sprintf("%s%s (%s–%s)", prefix, f(s.Median), f(s.Min), f(s.Max))
}

// ratio formats a speed-up without a sign, for the chart, where "×"
// already names worker counts ("local ×2").
func ratio(v float64) string {
	if v <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func speedup(v float64) string {
	if v <= 0 {
		return "–"
	}
	return fmt.Sprintf("×%.2f", v)
}

// secs formats seconds with about three significant digits.
func secs(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// oneLine folds a multi-line message into one line for a table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "|", "/")), " ")
}

// errWriter writes Markdown and keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) row(cells []string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	e.printf("| %s |\n", strings.Join(cells, " | "))
}

// sep writes the header separator; numeric tables align right after the
// first two columns.
func (e *errWriter) sep(n int, numeric bool) {
	cells := make([]string, n)
	for i := range cells {
		cells[i] = "---"
		if numeric && i >= 2 || !numeric && i >= 1 {
			cells[i] = "--:"
		}
	}
	e.printf("|%s|\n", strings.Join(cells, "|"))
}
