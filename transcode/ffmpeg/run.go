// Package ffmpeg runs ffmpeg and ffprobe as child processes and reads what
// they report. It is the only package that starts those programs.
//
// Every child gets -nostdin, is interrupted with SIGINT when its context is
// cancelled, is killed WaitDelay later if it has not exited, and returns an
// *ExitError carrying the tail of its stderr when it fails.
package ffmpeg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// WaitDelay is how long a child has to exit after SIGINT before it is killed.
const WaitDelay = 5 * time.Second

// stderrTail is how many bytes of a child's stderr are kept for errors.
const stderrTail = 8 << 10

// Runner locates and runs ffmpeg and ffprobe. The zero Runner finds both on
// PATH. A Runner is safe for concurrent use.
type Runner struct {
	// FFmpeg and FFprobe are program paths; empty means "ffmpeg" and
	// "ffprobe" looked up on PATH.
	FFmpeg  string
	FFprobe string
	// Env holds extra environment variables, NAME=value, for every program
	// the Runner starts, on top of this process's environment.
	Env []string
	// Trace, when set, is called with Env and the full command line,
	// program first, of every program the Runner starts, just before it
	// starts. It may be called from several goroutines at once.
	Trace func(env, argv []string)
}

// WithHugePages returns r with the environment that has glibc's malloc
// (2.35 or newer) back large allocations, such as ffmpeg's frame buffers,
// with transparent huge pages where the kernel grants them on request. An
// encoder then faults its working set in with about half the page faults,
// which matters when many short-lived encoders start. A GLIBC_TUNABLES the
// user set is left as it is.
func (r Runner) WithHugePages() Runner {
	if _, set := os.LookupEnv("GLIBC_TUNABLES"); set || slices.ContainsFunc(r.Env, func(e string) bool {
		return strings.HasPrefix(e, "GLIBC_TUNABLES=")
	}) {
		return r
	}
	r.Env = append(slices.Clip(r.Env), "GLIBC_TUNABLES=glibc.malloc.hugetlb=1")
	return r
}

// Find returns a Runner for the ffmpeg in the first of dirs that holds one,
// with the ffprobe beside it (which Check reports if it is missing), else
// for both on PATH. The Lambda handler passes /opt/bin, where an ffmpeg
// layer installs them, and its package's bin/.
func Find(dirs ...string) Runner {
	for _, d := range dirs {
		if ff := filepath.Join(d, "ffmpeg"); isExecutable(ff) {
			return Runner{FFmpeg: ff, FFprobe: filepath.Join(d, "ffprobe")}
		}
	}
	return Runner{}
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func (r Runner) ffmpeg() string  { return cmp(r.FFmpeg, "ffmpeg") }
func (r Runner) ffprobe() string { return cmp(r.FFprobe, "ffprobe") }

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MinVersion is the oldest ffmpeg release chunkcode works with: 5.1 brought
// -fps_mode and -enc_time_base, which exact segment timestamps need.
var MinVersion = [2]int{5, 1}

// Check reports an error naming the missing program when ffmpeg or ffprobe
// cannot be found, and one naming the version found when ffmpeg is older
// than MinVersion.
func (r Runner) Check() error {
	for _, p := range []string{r.ffmpeg(), r.ffprobe()} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("find %s: %w (install ffmpeg %d.%d or newer)", p, ErrNotInstalled, MinVersion[0], MinVersion[1])
		}
	}
	out, err := exec.Command(r.ffmpeg(), "-hide_banner", "-version").Output()
	if err != nil {
		return fmt.Errorf("run %s -version: %w", r.ffmpeg(), err)
	}
	v, ok := parseVersion(string(out))
	if ok && (v[0] < MinVersion[0] || v[0] == MinVersion[0] && v[1] < MinVersion[1]) {
		return fmt.Errorf("%s is version %d.%d: %w; chunkcode needs %d.%d or newer", r.ffmpeg(), v[0], v[1], ErrTooOld, MinVersion[0], MinVersion[1])
	}
	return nil
}

// parseVersion reads the release from the first line of ffmpeg -version,
// such as "ffmpeg version 5.1.6-0+deb12u1" or "ffmpeg version n7.1". A
// build from git ("N-113000-g…") has no release and is taken as new.
func parseVersion(out string) ([2]int, bool) {
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if len(f) < 3 || f[1] != "version" {
		return [2]int{}, false
	}
	s := strings.TrimPrefix(f[2], "n")
	major, rest, _ := strings.Cut(s, ".")
	minor := rest
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	a, err1 := strconv.Atoi(major)
	b, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return [2]int{}, false
	}
	return [2]int{a, b}, true
}

var (
	// ErrNotInstalled is returned by Check when ffmpeg or ffprobe is missing.
	ErrNotInstalled = errors.New("not installed")
	// ErrTooOld is returned by Check when ffmpeg is older than MinVersion.
	ErrTooOld = errors.New("too old")
	// ErrNoSpace means ffmpeg could not write because the disk is full.
	// An *ExitError unwraps to it whatever ffmpeg's exit status, since
	// ffmpeg 5.1 exits 0 when it fails to write the trailer.
	ErrNoSpace = errors.New("no space left on device")
)

// ExitError is returned when ffmpeg or ffprobe exits unsuccessfully.
type ExitError struct {
	Program string   // "ffmpeg" or "ffprobe"
	Args    []string // arguments, without the program
	Code    int      // exit status; -1 when killed by a signal
	Stderr  string   // the last few KiB of stderr
}

func (e *ExitError) Error() string {
	if e.noSpace() {
		return fmt.Sprintf("%s: %v", e.Program, ErrNoSpace)
	}
	msg := fmt.Sprintf("%s exited with status %d", e.Program, e.Code)
	if t := e.Tail(3); t != "" {
		msg += ": " + t
	}
	return msg
}

// Unwrap returns ErrNoSpace when the program reported a full disk.
func (e *ExitError) Unwrap() error {
	if e.noSpace() {
		return ErrNoSpace
	}
	return nil
}

func (e *ExitError) noSpace() bool { return strings.Contains(e.Stderr, "No space left on device") }

// Tail returns the last n non-empty lines of stderr joined by " | ".
func (e *ExitError) Tail(n int) string {
	var lines []string
	for _, l := range strings.Split(e.Stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Progress is called with the number of frames ffmpeg has written so far.
type Progress func(frames int)

// TimeProgress is called with how far, in seconds of output, ffmpeg has
// got; it suits encodes without video, such as audio.
type TimeProgress func(seconds float64)

// Run runs ffmpeg with args. When progress is non-nil, ffmpeg reports through
// -progress and progress is called as the frame count advances.
func (r Runner) Run(ctx context.Context, args []string, progress Progress) error {
	if progress == nil {
		return r.runProgress(ctx, args, nil)
	}
	return r.runProgress(ctx, args, frameReport(progress))
}

// frameReport returns a -progress line handler calling progress as the
// frame count changes.
func frameReport(progress Progress) func(key, value string) {
	last := -1
	return func(key, value string) {
		if key != "frame" {
			return
		}
		if n, err := strconv.Atoi(value); err == nil && n != last {
			last = n
			progress(n)
		}
	}
}

// RunTimed runs ffmpeg with args as Run does, calling progress as the
// output time advances.
func (r Runner) RunTimed(ctx context.Context, args []string, progress TimeProgress) error {
	last := -1
	return r.runProgress(ctx, args, func(key, value string) {
		// out_time_us is in microseconds, whatever its name says in
		// older releases (out_time_ms).
		if key != "out_time_us" {
			return
		}
		if us, err := strconv.Atoi(value); err == nil && us >= 0 && us != last {
			last = us
			progress(float64(us) / 1e6)
		}
	})
}

// runProgress runs ffmpeg with args, handing each key=value line of its
// -progress report to report when that is not nil.
func (r Runner) runProgress(ctx context.Context, args []string, report func(key, value string)) error {
	full := []string{"-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"}
	if report != nil {
		full = append(full, "-progress", "pipe:1", "-stats_period", "0.25")
	}
	full = append(full, args...)
	var stdout io.Writer = io.Discard
	var pw *io.PipeWriter
	var wg sync.WaitGroup
	if report != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		stdout = pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			readProgress(pr, report)
		}()
	}
	_, err := r.run(ctx, r.ffmpeg(), full, stdout)
	if pw != nil {
		pw.Close()
		wg.Wait()
	}
	return err
}

func readProgress(r io.Reader, report func(key, value string)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			report(k, strings.TrimSpace(v))
		}
	}
	io.Copy(io.Discard, r)
}

// Output runs ffprobe with args and returns its standard output.
func (r Runner) Output(ctx context.Context, args []string) ([]byte, error) {
	var out bytes.Buffer
	_, err := r.run(ctx, r.ffprobe(), append([]string{"-hide_banner", "-v", "error"}, args...), &out)
	return out.Bytes(), err
}

// Stream runs ffprobe with args and hands its standard output to read as it
// is produced, so large listings are never held in memory. It returns what
// ffprobe printed on stderr, which is non-empty when it met damaged data
// but still exited successfully.
func (r Runner) Stream(ctx context.Context, args []string, read func(io.Reader) error) (string, error) {
	pr, pw := io.Pipe()
	readErr := make(chan error, 1)
	go func() {
		err := read(pr)
		io.Copy(io.Discard, pr)
		readErr <- err
	}()
	stderr, err := r.run(ctx, r.ffprobe(), append([]string{"-hide_banner", "-v", "error"}, args...), pw)
	pw.Close()
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return stderr, err
}

// run runs program and returns its stderr tail along with any error.
func (r Runner) run(ctx context.Context, program string, args []string, stdout io.Writer) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if r.Trace != nil {
		r.Trace(r.Env, append([]string{program}, args...))
	}
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Stdout = stdout
	if len(r.Env) > 0 {
		cmd.Env = append(os.Environ(), r.Env...)
	}
	tail := &tailBuffer{max: stderrTail}
	cmd.Stderr = tail
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = WaitDelay
	err := cmd.Run()
	if err == nil {
		if e := (&ExitError{Program: filepath.Base(program), Args: args, Stderr: tail.String()}); e.noSpace() {
			return "", e
		}
		return tail.String(), nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", &ExitError{Program: filepath.Base(program), Args: args, Code: ee.ExitCode(), Stderr: tail.String()}
	}
	return "", fmt.Errorf("run %s: %w", filepath.Base(program), err)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
