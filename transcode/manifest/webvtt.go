package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Cue is one WebVTT cue: its times in seconds, its settings (the text
// after the end time on the timing line) and its payload.
type Cue struct {
	Start, End float64
	Settings   string
	Text       string
}

// ParseVTT reads the cues of a WebVTT file, such as ffmpeg's webvtt muxer
// writes; cue identifiers, NOTE, STYLE and REGION blocks are dropped.
func ParseVTT(text []byte) ([]Cue, error) {
	s := strings.ReplaceAll(string(text), "\r\n", "\n")
	if !strings.HasPrefix(strings.TrimPrefix(s, "\ufeff"), "WEBVTT") {
		return nil, fmt.Errorf("%w: WebVTT without the WEBVTT line", ErrInvalid)
	}
	var cues []Cue
	for _, block := range strings.Split(s, "\n\n") {
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		i := 0
		for i < len(lines) && !strings.Contains(lines[i], "-->") {
			i++
		}
		if i == len(lines) {
			continue // the header, a NOTE or a STYLE block
		}
		from, rest, _ := strings.Cut(lines[i], "-->")
		rest = strings.TrimSpace(rest)
		to, settings, _ := strings.Cut(rest, " ")
		start, err := vttTime(strings.TrimSpace(from))
		if err != nil {
			return nil, err
		}
		end, err := vttTime(to)
		if err != nil {
			return nil, err
		}
		cues = append(cues, Cue{Start: start, End: end, Settings: strings.TrimSpace(settings), Text: strings.Join(lines[i+1:], "\n")})
	}
	return cues, nil
}

// vttTime reads a WebVTT timestamp, "hh:mm:ss.ttt" or "mm:ss.ttt".
func vttTime(s string) (float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("%w: WebVTT timestamp %q", ErrInvalid, s)
	}
	var t float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%w: WebVTT timestamp %q", ErrInvalid, s)
		}
		t = t*60 + v
	}
	return t, nil
}

// formatVTTTime writes seconds as "hh:mm:ss.ttt".
func formatVTTTime(t float64) string {
	ms := int64(math.Round(max(t, 0) * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// VTT returns a WebVTT file holding cues. mpegts, when not negative, adds
// the X-TIMESTAMP-MAP header HLS needs, mapping the cues' time 0 to that
// presentation time of the other renditions in 90 kHz units.
func VTT(cues []Cue, mpegts int64) []byte {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	if mpegts >= 0 {
		fmt.Fprintf(&b, "X-TIMESTAMP-MAP=MPEGTS:%d,LOCAL:00:00:00.000\n", mpegts%(1<<33))
	}
	for _, c := range cues {
		fmt.Fprintf(&b, "\n%s --> %s", formatVTTTime(c.Start), formatVTTTime(c.End))
		if c.Settings != "" {
			b.WriteString(" " + c.Settings)
		}
		fmt.Fprintf(&b, "\n%s\n", c.Text)
	}
	return []byte(b.String())
}

// SplitCues returns, for each of the segments with the given durations
// starting at 0, the cues shown during it: a cue that spans a boundary is
// in every segment it overlaps, as HLS wants.
func SplitCues(cues []Cue, durations []float64) [][]Cue {
	out := make([][]Cue, len(durations))
	at := 0.0
	for i, d := range durations {
		end := at + d
		if i == len(durations)-1 {
			end = math.Inf(1)
		}
		for _, c := range cues {
			if c.Start < end && c.End > at {
				out[i] = append(out[i], c)
			}
		}
		at += d
	}
	return out
}
