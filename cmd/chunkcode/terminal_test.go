package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screen is what a terminal of a given width shows after a byte stream,
// as far as chunkcode's output goes: text that wraps at the right margin
// (as xterm does, once a character follows the last column), carriage
// return, line feed, and erase to the end of the line. Other escape
// sequences are skipped.
type screen struct {
	width    int
	rows     [][]rune
	row, col int
	wrap     bool // the last column is written: the next character wraps
}

func newScreen(width int) *screen { return &screen{width: width, rows: [][]rune{nil}} }

func (s *screen) write(b []byte) {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == '\r':
			s.col, s.wrap = 0, false
		case r == '\n':
			s.newline()
		case r == '\x1b':
			// CSI: ESC [ parameters final-byte.
			if len(b) > 0 && b[0] == '[' {
				i := 1
				for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
					i++
				}
				if i < len(b) && b[i] == 'K' && string(b[1:i]) == "" {
					s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
				}
				b = b[min(i+1, len(b)):]
			}
		case r < ' ':
		default:
			if s.wrap {
				s.newline()
				s.col = 0
			}
			line := s.rows[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = r
			s.rows[s.row] = line
			if s.col == s.width-1 {
				s.wrap = true
			} else {
				s.col++
			}
		}
	}
}

func (s *screen) newline() {
	s.wrap = false
	s.row++
	if s.row == len(s.rows) {
		s.rows = append(s.rows, nil)
	}
}

// lines returns the rows of the screen, without trailing blanks and
// without the empty rows at the end.
func (s *screen) lines() []string {
	var out []string
	for _, r := range s.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func TestScreen(t *testing.T) {
	s := newScreen(10)
	s.write([]byte("0123456789"))
	s.write([]byte("\rabc\x1b[K\r\n"))
	s.write([]byte("0123456789AB\rxy\x1b[K\n"))
	assert.Equal(t, []string{"abc", "0123456789", "xy"}, s.lines(), "a line as wide as the screen does not wrap; a wider one does")
}

// statusRow matches a status line on the screen.
var statusRow = regexp.MustCompile(`^(probe|prepare|encode|audio|merge|verify|done) +\d+%`)

// inTerminal runs the binary in a pseudo-terminal width columns wide, with
// script(1), and returns what it wrote and its exit code. When interrupt is
// not nil, it types Ctrl-C once interrupt returns true for the output so
// far.
func inTerminal(t *testing.T, width int, interrupt func(out string) bool, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		fixture.Missing(t, "script is not on PATH; install util-linux")
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	line := shellJoin([]string{"stty", "cols", strconv.Itoa(width), "rows", "50"}) + " && exec " +
		shellJoin(append([]string{binary}, args...))
	cmd := exec.CommandContext(ctx, "script", "-qfec", line, "/dev/null")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	cmd.Stdout = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	require.NoError(t, cmd.Start())
	if interrupt != nil {
		for {
			mu.Lock()
			s := out.String()
			mu.Unlock()
			if interrupt(s) {
				_, err := stdin.Write([]byte{0x03}) // Ctrl-C, which the terminal turns into SIGINT
				require.NoError(t, err)
				break
			}
			require.NoError(t, ctx.Err(), "no sign to interrupt on in %q", s)
			time.Sleep(10 * time.Millisecond)
		}
	}
	err = cmd.Wait()
	code := 0
	if ee := (*exec.ExitError)(nil); err != nil {
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	require.NoError(t, ctx.Err(), "chunkcode did not finish")
	return out.String(), code
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestTerminal40 transcodes in a terminal of 40 columns: the status line
// never wraps, so no stale copy of it is left on the screen, and the screen
// ends with the finished line and the summary.
func TestTerminal40(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Width: 320, Height: 240, Audio: 1})
	out := filepath.Join(t.TempDir(), "out.mp4")
	raw, code := inTerminal(t, 40, nil, "transcode", "--preset", "ultrafast", "--workers", "2", "--segment-duration", "1", in, out)
	require.Equal(t, 0, code, "output: %q", raw)
	s := newScreen(40)
	s.write([]byte(raw))
	lines := s.lines()
	var status []string
	for _, l := range lines {
		if statusRow.MatchString(l) {
			status = append(status, l)
		}
	}
	if assert.Len(t, status, 1, "one status line; screen:\n%s", strings.Join(lines, "\n")) {
		assert.Regexp(t, `^done    100% 100/100( +\d+ fps)?$`, status[0], "finished")
	}
	assert.Contains(t, strings.Join(lines, ""), out+": 100 frames in ", "the summary, after the status line")
	for _, stage := range []string{"probe", "prepare", "encode", "merge", "verify"} {
		assert.Contains(t, raw, "\r"+stage+" ", "the line names the stage %s", stage)
	}
	for _, draw := range strings.Split(raw, "\r") {
		if line, _, ok := strings.Cut(draw, "\x1b[K"); ok {
			assert.LessOrEqual(t, utf8.RuneCountInString(line), 37, "%q", line)
		}
	}
}

// TestTerminalInterrupt types Ctrl-C in the terminal while the status line
// shows: it is cleared before chunkcode says it was interrupted. At 70
// columns the bar fills the line, which must leave room for the "^C" the
// terminal echoes.
func TestTerminalInterrupt(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 6 * time.Second, Width: 320, Height: 240, Audio: 1})
	out := filepath.Join(t.TempDir(), "out.mp4")
	raw, code := inTerminal(t, 70, func(out string) bool { return strings.Contains(out, "\rencode ") },
		"transcode", "--workers", "1", "--segment-duration", "1", in, out)
	assert.Equal(t, 130, code, "output: %q", raw)
	s := newScreen(70)
	s.write([]byte(raw))
	assert.Equal(t, []string{"chunkcode: interrupted"}, s.lines(), "raw output: %q", raw)
	assert.NoFileExists(t, out)
}

// TestPlainProgress runs with stderr on a pipe, as in CI: a line per
// segment, numbered from 1, and a status line every heartbeat.
func TestPlainProgress(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Width: 320, Height: 240, Audio: 1})
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := chunkcode(t, []string{envHeartbeat + "=500ms"},
		"transcode", "--preset", "ultrafast", "--workers", "1", "--segment-duration", "1", in, out)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.NotContains(t, r.stderr, "\r")
	assert.NotContains(t, r.stderr, "\x1b")
	segment := regexp.MustCompile(`^segment (\d+)/4 done: 25 frames in [\d.]+s \(\d+ fps\) \[(\d)/4, \d+%\]$`)
	heartbeat := regexp.MustCompile(`^\[\d+:\d\d\] (probe|prepare|encode|audio|merge|verify) \d+%(, \d+/100 frames)?(, \d+ fps)?(, ETA \d+:\d\d)?(, audio \d+%)?$`)
	var numbers []string
	beats := 0
	for _, l := range r.stderrLines() {
		if m := segment.FindStringSubmatch(l); m != nil {
			numbers = append(numbers, m[1])
		}
		if heartbeat.MatchString(l) {
			beats++
		}
	}
	assert.ElementsMatch(t, []string{"1", "2", "3", "4"}, numbers, "segments, numbered from 1:\n%s", r.stderr)
	assert.Positive(t, beats, "status lines:\n%s", r.stderr)
}

func TestQuiet(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--quiet", in, filepath.Join(dir, "out.mp4"))...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr)
	assert.Empty(t, r.stdout)

	r = chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "-q", filepath.Join(dir, "missing.mp4"), filepath.Join(dir, "out.mkv"))...)
	assert.Equal(t, 1, r.code)
	if lines := r.stderrLines(); assert.Len(t, lines, 1, "only the error: %s", r.stderr) {
		assert.Contains(t, lines[0], "missing.mp4")
	}

	r = chunkcode(t, nil, "transcode", "--quiet", "--verbose", in, filepath.Join(dir, "out.webm"))
	assert.Equal(t, 2, r.code, "a usage error: %s", r.stderr)
}

// TestVerbose checks that every ffmpeg and ffprobe command is printed, and
// that a printed line runs as it is in a shell.
func TestVerbose(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "it's a dir") // a path that needs quoting
	require.NoError(t, os.Mkdir(dir, 0o755))
	in := fixture.Video(t, fixture.Spec{Dir: dir, Audio: 1})
	work := filepath.Join(dir, "work")
	r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--verbose", "--work-dir", work, in, filepath.Join(dir, "out.mp4"))...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	// A command may start with the variables it runs with, such as
	// GLIBC_TUNABLES.
	command := regexp.MustCompile(`^(?:[A-Z_]+=\S+ )*(ffmpeg|ffprobe) `)
	var probes, encodes []string
	for _, l := range r.stderrLines() {
		m := command.FindStringSubmatch(l)
		switch {
		case m == nil:
		case m[1] == "ffprobe":
			probes = append(probes, l)
		case m[1] == "ffmpeg":
			assert.Contains(t, l, " -nostdin ")
			if strings.Contains(l, " -c:v ") {
				encodes = append(encodes, l)
			}
		}
	}
	require.NotEmpty(t, probes, "stderr: %s", r.stderr)
	require.GreaterOrEqual(t, len(encodes), 3, "every segment's encode: %s", r.stderr)
	for _, l := range []string{probes[0], encodes[0]} {
		out, err := exec.Command("sh", "-c", l).CombinedOutput()
		assert.NoError(t, err, "sh -c %s: %s", l, out)
	}
}
