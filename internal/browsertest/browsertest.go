// Package browsertest plays an HLS or DASH presentation in a real browser
// for tests: Debian's Chromium, headless, driven by puppeteer-core, with
// hls.js for HLS and dash.js for DASH. The player libraries are pinned in
// player/package.json and its package-lock.json; `make browser` installs
// Chromium and runs npm ci there.
//
// Play serves a directory from an httptest server on 127.0.0.1, forces every
// video rung of the presentation in turn, plays it to the end and returns
// what the page saw. When Chromium, node or the player's node_modules are
// missing, the test fails in CI (the CI environment variable is set) and is
// skipped elsewhere.
package browsertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
)

// DefaultChromium is the browser Play starts unless $CHROMIUM names another.
const DefaultChromium = "/usr/bin/chromium"

// Options tune Play. The zero Options are valid.
type Options struct {
	// Screenshots makes Play pause on every rung once it is shown, save
	// a PNG of the video element at the rung's own size, and resume.
	Screenshots bool
	// MinFrames is how many frames must be decoded on a rung after its
	// picture appears; default 10.
	MinFrames int
	// StepTimeout bounds each step in the page: the manifest loading, a
	// switch, a rung's frames; default 20s.
	StepTimeout time.Duration
	// EndTimeout bounds playing on to the end after the last rung;
	// default 60s.
	EndTimeout time.Duration
	// URL, when set, is where the manifest is fetched from instead of
	// the directory Play serves, such as a bucket's public or presigned
	// URL; the player's page is on another origin, so the server must
	// answer CORS. The manifest argument then gives only its kind.
	URL string
}

func (o *Options) defaults() {
	if o.MinFrames <= 0 {
		o.MinFrames = 10
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 20 * time.Second
	}
	if o.EndTimeout <= 0 {
		o.EndTimeout = 60 * time.Second
	}
}

// Result is what the page saw while playing one presentation.
type Result struct {
	// Kind is "hls" (played with hls.js) or "dash" (dash.js).
	Kind string `json:"kind"`
	// ManifestParsed is set once the player listed the video rungs.
	ManifestParsed bool `json:"manifestParsed"`
	// Rungs are the video levels (hls.js) or representations (dash.js)
	// in the player's order, which for both is lowest bandwidth first.
	Rungs []Rung `json:"rungs"`
	// Errors are the player's and the media element's errors, fatal or not.
	Errors []PlayerError `json:"errors"`
	// Waiting holds the media time of every `waiting` event after
	// playback first started: stalls.
	Waiting []float64 `json:"-"`
	// Ended is set when the media element fired `ended`.
	Ended bool `json:"ended"`
	// CurrentTime and Duration are the media element's at the end.
	CurrentTime float64 `json:"currentTime"`
	Duration    float64 `json:"duration"`
	// TotalFrames is getVideoPlaybackQuality().totalVideoFrames at the end.
	TotalFrames int `json:"totalFrames"`
	// SwitchEvents are the levels of hls.js's LEVEL_SWITCHED events, or
	// the representation ids of dash.js's video QUALITY_CHANGE_RENDERED
	// events, in order.
	SwitchEvents []string `json:"switchEvents"`
	// Buffered lists the media element's buffered time ranges at the end,
	// as [start, end] pairs in seconds.
	Buffered [][2]float64 `json:"buffered"`
	// State is the media element's readyState, networkState, paused,
	// seeking and ended at the end, for diagnosis.
	State string `json:"state"`
	// Failure says why the page stopped early, such as a step that timed
	// out; empty when the sequence ran to the end.
	Failure string `json:"failure"`
}

// pageResult is Result as page.js writes it.
type pageResult struct {
	Result
	Waiting []struct {
		At float64 `json:"at"`
	} `json:"waiting"`
}

// Rung is one video rung as the player listed and then played it.
type Rung struct {
	Index     int    `json:"index"`
	Height    int    `json:"height"`
	Width     int    `json:"width"`
	Bandwidth int    `json:"bandwidth"`
	Codecs    string `json:"codecs"`
	// Switched is set when the player reported the switch to this rung
	// (LEVEL_SWITCHED or QUALITY_CHANGE_RENDERED) after it was forced.
	Switched bool `json:"switched"`
	// Rendered is set when the picture had the rung's height and
	// MinFrames more frames were decoded on it.
	Rendered bool `json:"rendered"`
	// FramesBefore is totalVideoFrames when the rung was forced, and
	// FramesAfter when it was found rendered.
	FramesBefore int `json:"framesBefore"`
	FramesAfter  int `json:"framesAfter"`
	// ShownWidth and ShownHeight are the video element's videoWidth and
	// videoHeight once rendered.
	ShownWidth  int `json:"shownWidth"`
	ShownHeight int `json:"shownHeight"`
	// Screenshot is the PNG of the paused frame (with
	// Options.Screenshots); ScreenshotTime is that frame's presentation
	// time on the media element's timeline (requestVideoFrameCallback's
	// mediaTime).
	Screenshot     string  `json:"screenshot"`
	ScreenshotTime float64 `json:"screenshotTime"`
}

// PlayerError is one error event from the player or the media element.
type PlayerError struct {
	Fatal   bool    `json:"fatal"`
	Type    string  `json:"type"`
	Details string  `json:"details"`
	At      float64 `json:"at"`
}

func (e PlayerError) String() string {
	kind := "error"
	if e.Fatal {
		kind = "fatal error"
	}
	return fmt.Sprintf("%s %s %s at %.3fs", kind, e.Type, e.Details, e.At)
}

// Problems lists every way r falls short of a clean play of a presentation
// at frameRate frames per second: the manifest was not parsed, a rung was
// not switched to or rendered or decoded no frame, a fatal error, a stall
// after the start, no `ended`, or a currentTime more than one frame from
// the duration at the end. It is empty when all is well.
func (r Result) Problems(frameRate float64) []string {
	var p []string
	if r.Failure != "" {
		p = append(p, "page: "+r.Failure+" ("+r.State+")")
	}
	if !r.ManifestParsed {
		p = append(p, "manifest not parsed")
	}
	if r.ManifestParsed && len(r.Rungs) == 0 {
		p = append(p, "no video rung")
	}
	for _, g := range r.Rungs {
		switch {
		case !g.Switched:
			p = append(p, fmt.Sprintf("rung %d (%dp): no switch reported", g.Index, g.Height))
		case !g.Rendered:
			p = append(p, fmt.Sprintf("rung %d (%dp): not rendered", g.Index, g.Height))
		case g.FramesAfter <= g.FramesBefore:
			p = append(p, fmt.Sprintf("rung %d (%dp): totalVideoFrames did not grow (%d then %d)", g.Index, g.Height, g.FramesBefore, g.FramesAfter))
		}
	}
	for _, e := range r.Errors {
		if e.Fatal {
			p = append(p, e.String())
		}
	}
	for _, at := range r.Waiting {
		p = append(p, fmt.Sprintf("stalled (waiting) at %.3fs", at))
	}
	if !r.Ended {
		p = append(p, "playback did not reach ended")
	} else if d := math.Abs(r.Duration - r.CurrentTime); d > 1/frameRate+1e-6 {
		p = append(p, fmt.Sprintf("ended at %.3fs, %.3fs from the duration %.3fs: more than one frame", r.CurrentTime, d, r.Duration))
	}
	return p
}

// Require fails the test in CI, or skips it elsewhere, when Chromium, node
// or the player's node_modules are missing, and returns Chromium's path.
func Require(t testing.TB) string {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = DefaultChromium
	}
	if fi, err := os.Stat(chromium); err != nil || fi.Mode()&0o111 == 0 {
		fixture.Missing(t, chromium+" is missing; run `make browser` (Debian's chromium package)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		fixture.Missing(t, "node is not on PATH; run `make browser` (Debian's nodejs package)")
	}
	for _, m := range []string{"puppeteer-core", "hls.js", "dashjs"} {
		if _, err := os.Stat(filepath.Join(PlayerDir(), "node_modules", m, "package.json")); err != nil {
			fixture.Missing(t, "the player's node_modules lack "+m+"; run `make browser` (npm ci in internal/browsertest/player)")
		}
	}
	return chromium
}

// PlayerDir returns the directory of play.mjs, page.js and the pinned
// node_modules, found from this source file so that tests of any package
// can call Play.
func PlayerDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "player")
}

// Play serves dir on 127.0.0.1 and plays manifest, a slash-separated path
// inside dir ending in .m3u8 (HLS with hls.js) or .mpd (DASH with
// dash.js), in headless Chromium: it forces every video rung in turn,
// lowest first, then plays to the end. Play fails the test only when the
// harness itself breaks; what the player did is in the Result, and
// Result.Problems lists what went wrong. Every process it starts is stopped
// before the test ends, and one that survives fails the test.
func Play(t testing.TB, dir, manifest string, o Options) Result {
	t.Helper()
	chromium := Require(t)
	o.defaults()
	kind := ""
	switch path.Ext(manifest) {
	case ".m3u8":
		kind = "hls"
	case ".mpd":
		kind = "dash"
	default:
		t.Fatalf("browsertest: manifest %q is neither .m3u8 nor .mpd", manifest)
	}

	mux := http.NewServeMux()
	mux.Handle("/player/", http.StripPrefix("/player/", http.FileServer(http.Dir(PlayerDir()))))
	mux.Handle("/media/", http.StripPrefix("/media/", http.FileServer(http.Dir(dir))))
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	shots := ""
	if o.Screenshots {
		shots = t.TempDir()
	}
	src := srv.URL + "/media/" + strings.TrimPrefix(manifest, "/")
	if o.URL != "" {
		src = o.URL
	}
	args := []string{
		filepath.Join(PlayerDir(), "play.mjs"),
		"--chromium", chromium,
		"--profile", t.TempDir(),
		"--page", srv.URL + "/player/index.html",
		"--kind", kind,
		"--src", src,
		"--shots", shots,
		"--step-ms", strconv.FormatInt(o.StepTimeout.Milliseconds(), 10),
		"--end-ms", strconv.FormatInt(o.EndTimeout.Milliseconds(), 10),
		"--min-frames", strconv.Itoa(o.MinFrames),
	}
	// Bound the whole run: a step per rung (a few rungs), the manifest,
	// the end, and Chromium's start.
	ctx, cancel := context.WithTimeout(context.Background(), 12*o.StepTimeout+o.EndTimeout+time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	p := start(ctx, t, &stdout, &stderr, "node", args...)
	err := p.wait()
	p.stop(t)
	if err != nil {
		t.Fatalf("browsertest: node play.mjs %s: %v\n%s", kind, err, tail(stderr.String(), 4000))
	}
	var pr pageResult
	if err := json.Unmarshal(stdout.Bytes(), &pr); err != nil {
		t.Fatalf("browsertest: decode play.mjs output: %v\n%s\n%s", err, stdout.String(), tail(stderr.String(), 4000))
	}
	r := pr.Result
	for _, w := range pr.Waiting {
		r.Waiting = append(r.Waiting, w.At)
	}
	if (r.Failure != "" || len(r.Errors) > 0) && stderr.Len() > 0 {
		t.Logf("browsertest: %s player log:\n%s", kind, tail(stderr.String(), 4000))
	}
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// proc is node and everything it starts: Chromium runs in a process group
// of its own (puppeteer detaches it), so every process is found by a marker
// in its environment.
type proc struct {
	cmd    *exec.Cmd
	marker string
	done   chan error
}

func start(ctx context.Context, t testing.TB, stdout, stderr *bytes.Buffer, name string, args ...string) *proc {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	p := &proc{marker: "CHUNKCODE_BROWSERTEST_PROC=" + hex.EncodeToString(b[:]), done: make(chan error, 1)}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = PlayerDir()
	cmd.Env = append(os.Environ(), p.marker)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start %s: %v", name, err)
	}
	p.cmd = cmd
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proc) wait() error {
	err := <-p.done
	p.done <- err
	return err
}

// stop kills node's process group if it still runs, then waits for every
// process carrying the marker to exit; it kills and reports survivors.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
		p.done <- nil
	default:
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.wait()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := processesWith(p.marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("browsertest: processes still running after the player stopped: %v", left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesWith returns the pids whose environment holds marker.
func processesWith(marker string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == marker {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
