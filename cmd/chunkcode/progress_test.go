package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// encoding returns the status of a run encoding 6000 frames and 240 s of
// audio since t0+1s, with frames and seconds of audio done.
func encoding(frames int, audio float64) *status {
	s := &status{start: t0, segments: 12, total: 6000}
	s.setStage(transcode.StageProbe, t0)
	s.setStage(transcode.StageAudio, t0.Add(time.Second))
	s.setStage(transcode.StagePrepare, t0.Add(time.Second))
	s.setStage(transcode.StageEncode, t0.Add(time.Second))
	s.frames, s.audio, s.audioTotal = frames, audio, 240
	return s
}

func TestStatusLine(t *testing.T) {
	now := t0.Add(11 * time.Second) // 10 s into the encode
	tests := []struct {
		width int
		want  string
	}{
		{100, "encode   45% [=================>                        ] 2700/6000  270 fps ETA  0:12 audio  50%"},
		{55, "encode   45% 2700/6000  270 fps ETA  0:12 audio  50%"},
		{40, "encode   45% 2700/6000 ETA  0:12"},
		{20, "encode   45%"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d columns", tt.width), func(t *testing.T) {
			assert.Equal(t, tt.want, encoding(2700, 120).line(tt.width, now))
		})
	}
}

// TestStatusLineFits checks every width from 20 columns against runs in
// every stage: the line never reaches the last column, parts are dropped
// in dropOrder, and the line keeps its width and layout while it runs.
func TestStatusLineFits(t *testing.T) {
	// has reports which parts a line shows, when all of them have values.
	has := func(line string) map[int]bool {
		return map[int]bool{
			partBar: strings.Contains(line, "["), partCounts: strings.Contains(line, "/"),
			partRate: strings.Contains(line, "fps"), partETA: strings.Contains(line, "ETA"),
			partAudio: strings.Contains(line, "audio "),
		}
	}
	for width := 20; width <= 140; width++ {
		// The updates of one encode: from the first frame, when there is
		// no rate yet, to the last, after which the audio goes on alone.
		var lines []string
		for i := 0; i <= 20; i++ {
			s := encoding(i*300, float64(i)*10)
			lines = append(lines, s.line(width, t0.Add(time.Second+time.Duration(i)*time.Second)))
		}
		s := encoding(6000, 200)
		lines = append(lines, s.line(width, t0.Add(30*time.Second)))
		s.setStage(transcode.StageMerge, t0.Add(40*time.Second))
		lines = append(lines, s.line(width, t0.Add(41*time.Second)))
		for _, l := range lines {
			require.LessOrEqual(t, len(l), width-3, "width %d: room for the ^C a terminal echoes: %q", width, l)
		}
		for i, l := range lines {
			require.Len(t, l, len(lines[0]), "width %d: the line changes width at update %d: %q then %q", width, i, lines[0], l)
		}

		full := has(encoding(2700, 120).line(width, t0.Add(11*time.Second)))
		for i, p := range dropOrder {
			for _, later := range dropOrder[i+1:] {
				if full[p] {
					require.True(t, full[later], "width %d: part %d is shown, part %d, dropped after it, is not", width, p, later)
				}
			}
		}
		if width >= 100 {
			assert.True(t, full[partBar], "width %d: all parts fit", width)
		}
	}
}

func TestStatusStages(t *testing.T) {
	s := encoding(6000, 100)
	now := t0.Add(20 * time.Second)
	assert.Equal(t, "audio", s.label(), "the audio is all that is left to encode")
	assert.Equal(t, 41, s.percent(), "the audio holds the run back")
	s.audio = 240
	assert.Equal(t, 99, s.percent(), "100% only once the output is in place")
	s.setStage(transcode.StageVerify, now)
	assert.Equal(t, "verify", s.label())
	_, ok := s.eta(now)
	assert.False(t, ok, "no time left after the encode")
	s.finish()
	assert.Equal(t, 100, s.percent())
	assert.Equal(t, "done", s.label())
}

func TestStatusRate(t *testing.T) {
	s := encoding(1, 0)
	_, ok := s.rate(t0.Add(time.Second + 10*time.Millisecond))
	assert.False(t, ok, "no rate from one frame in 10 ms")
	assert.Equal(t, "encode    0% [                                                ]    1/6000                    audio   0%",
		s.line(120, t0.Add(1500*time.Millisecond)), "no rate, no time left, the same width")
	s.frames = 50
	r, ok := s.rate(t0.Add(3 * time.Second))
	assert.True(t, ok)
	assert.InDelta(t, 25, r, 0.01)

	t.Run("resumed frames do not count", func(t *testing.T) {
		s := &status{total: 100}
		s.frames = 60 // reused from an earlier run
		s.setStage(transcode.StageEncode, t0)
		s.frames = 70
		r, ok := s.rate(t0.Add(5 * time.Second))
		assert.True(t, ok)
		assert.InDelta(t, 2, r, 0.01)
	})
}

// clock is a time that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the progress's ticker.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// testProgress returns a progress writing to a buffer, on a terminal of
// width columns, or plain when width is 0, with a clock of its own.
func testProgress(width int) (*progress, *syncBuffer, *clock) {
	var out syncBuffer
	c := &clock{now: t0}
	p := newProgress(&out, true)
	p.now, p.tick = c.Now, 0
	p.st.start = t0
	if width > 0 {
		p.plain = false
		p.width = func() int { return width }
	}
	return p, &out, c
}

// feed sends p the events of a run of 4 segments of 100 frames, moving c
// on a second per segment.
func feed(p *progress, c *clock) {
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageProbe})
	p.event(transcode.Event{Kind: transcode.EventPlanned, Summary: &transcode.Summary{
		Input: "in.mp4", Frames: 400, Duration: 16, Segments: 4, Workers: 2, Backend: "local"}})
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageAudio})
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StagePrepare})
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageEncode})
	for i := range 4 {
		c.Add(time.Second)
		p.event(transcode.Event{Kind: transcode.EventFrames, Frames: 100})
		p.event(transcode.Event{Kind: transcode.EventAudio, Seconds: float64(i+1) * 4, Total: 16})
		p.event(transcode.Event{Kind: transcode.EventSegment, Segment: splitter.Segment{Index: i, Frames: 100},
			Result: transcode.Result{Index: i, Frames: 100, EncodeSeconds: 1}})
	}
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageMerge})
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageVerify})
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageDone})
}

func TestProgressTerminal(t *testing.T) {
	p, out, c := testProgress(40)
	feed(p, c)
	p.event(transcode.Event{Kind: transcode.EventWarning, Err: errors.New("disk\nslow")})
	p.finish(true)
	got := out.String()
	for _, draw := range strings.Split(got, "\r")[1:] {
		line, _, _ := strings.Cut(draw, "\n")
		if strings.HasPrefix(line, "\x1b[K") {
			continue // a clear, before a message
		}
		require.True(t, strings.HasSuffix(line, "\x1b[K"), "each draw clears the rest of the line: %q", line)
		assert.LessOrEqual(t, len(strings.TrimSuffix(line, "\x1b[K")), 37, "%q", line)
	}
	for _, stage := range []string{"probe", "prepare", "encode", "merge", "verify"} {
		assert.Contains(t, got, "\r"+stage+" ", "the line names every stage")
	}
	assert.Contains(t, got, "\r\x1b[Kwarning: disk | slow\n", "a message clears the line first")
	assert.True(t, strings.HasSuffix(got, "\rdone    100% 400/400          \x1b[K\n"), "the last line: %q", got[max(0, len(got)-80):])
	assert.NotContains(t, got, "segment 1/4", "no plain lines on a terminal")

	t.Run("cleared on failure", func(t *testing.T) {
		p, out, c := testProgress(40)
		feed(p, c)
		p.finish(false)
		assert.True(t, strings.HasSuffix(out.String(), "\x1b[K\r\x1b[K"), "%q", out.String())
		p.event(transcode.Event{Kind: transcode.EventFrames, Frames: 1})
		assert.True(t, strings.HasSuffix(out.String(), "\r\x1b[K"), "nothing drawn after finish")
	})
}

func TestProgressPlain(t *testing.T) {
	p, out, c := testProgress(0)
	feed(p, c)
	c.Add(heartbeatEvery) // the merge is slow
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageVerify})
	p.finish(true)
	want := []string{
		"in.mp4: 400 frames, 16.0s, 4 segments (0 on keyframes), 2 workers on local",
		"segment 1/4 done: 100 frames in 1.0s (100 fps) [1/4, 25%]",
		"segment 2/4 done: 100 frames in 1.0s (100 fps) [2/4, 50%]",
		"segment 3/4 done: 100 frames in 1.0s (100 fps) [3/4, 75%]",
		"segment 4/4 done: 100 frames in 1.0s (100 fps) [4/4, 99%]",
		"merge…",
		"verify…",
		"verify…",
		"[0:14] verify 99%, 400/400 frames, 100 fps, audio 100%", // the heartbeat
	}
	assert.Equal(t, want, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"))
}

func TestProgressHeartbeat(t *testing.T) {
	p, out, c := testProgress(0)
	p.event(transcode.Event{Kind: transcode.EventPlanned, Summary: &transcode.Summary{Frames: 1000, Segments: 1}})
	p.event(transcode.Event{Kind: transcode.EventStage, Stage: transcode.StageEncode})
	for range 25 {
		c.Add(time.Second)
		p.event(transcode.Event{Kind: transcode.EventFrames, Frames: 10})
	}
	p.finish(true)
	var beats []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "[") {
			beats = append(beats, l)
		}
	}
	assert.Equal(t, []string{
		"[0:10] encode 10%, 100/1000 frames, 10 fps, ETA 1:30",
		"[0:20] encode 20%, 200/1000 frames, 10 fps, ETA 1:20",
	}, beats)
}

func TestProgressQuiet(t *testing.T) {
	p, out, c := testProgress(40)
	p.quiet = true
	feed(p, c)
	p.println("ffmpeg -i in.mp4")
	p.event(transcode.Event{Kind: transcode.EventRetry, Err: errors.New("flaky")})
	p.event(transcode.Event{Kind: transcode.EventWarning, Err: errors.New("clean up: denied")})
	p.finish(true)
	assert.Empty(t, out.String(), "--quiet prints nothing but errors")
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: " 0:00", 5 * time.Second: " 0:05", 59*time.Minute + 59*time.Second: "59:59",
		time.Hour + 5*time.Minute: " 1h05", 200 * time.Hour: "99h59",
	} {
		assert.Equal(t, want, shortDuration(d), "%v", d)
	}
}

// TestProgressTicker runs the ticker beside the events and the trace of
// commands, for the race detector, and checks it stops at finish.
func TestProgressTicker(t *testing.T) {
	for _, width := range []int{0, 60} {
		p, out, c := testProgress(width)
		p.tick = time.Millisecond
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				p.println("ffmpeg -i in.mp4")
				time.Sleep(time.Millisecond)
			}
		}()
		feed(p, c)
		time.Sleep(20 * time.Millisecond)
		wg.Wait()
		p.finish(true)
		n := len(out.String())
		time.Sleep(20 * time.Millisecond)
		assert.Len(t, out.String(), n, "nothing written after finish")
		assert.Equal(t, 20, strings.Count(out.String(), "ffmpeg -i in.mp4\n"))
	}
}
