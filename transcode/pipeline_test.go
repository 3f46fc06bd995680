package transcode_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// request is the Request the tests start from: small segments so every
// fixture is cut several times, and a fast preset.
func request(in, out string) transcode.Request {
	return transcode.Request{
		Input: in, Output: out,
		Profile:         transcode.Profile{Codec: media.H264, Preset: "ultrafast"},
		Workers:         2,
		SegmentDuration: 500 * time.Millisecond,
		Retries:         transcode.DefaultRetries,
	}
}

// run runs the pipeline with backend (nil for Local).
func run(t *testing.T, req transcode.Request, backend transcode.Backend) (*transcode.Summary, error) {
	t.Helper()
	p := &transcode.Pipeline{Backend: backend}
	return p.Run(context.Background(), req)
}

// checkOutput asserts what every successful transcode must give: the
// source's frames and pictures, its audio tracks with their languages and
// lengths, subtitles, chapters and title, and no temporary file beside the
// output.
func checkOutput(t *testing.T, in, out string, sum *transcode.Summary) {
	t.Helper()
	src, dst := fixture.Inspect(t, in), fixture.Inspect(t, out)
	w, h := displaySize(dst.Video(t))
	want, got := fixture.Luma(t, in, w, h), fixture.Luma(t, out, w, h)
	assert.Len(t, got, len(want), "decoded video frames")
	assert.Equal(t, len(want), sum.Frames, "summary frames")
	assert.Positive(t, sum.Segments)
	fixture.SamePictures(t, want, got)

	srcAudio, dstAudio := src.StreamsOf("audio"), dst.StreamsOf("audio")
	require.Len(t, dstAudio, len(srcAudio), "audio tracks")
	for i := range srcAudio {
		assert.Equal(t, language(srcAudio[i]), language(dstAudio[i]), "language of audio track %d", i)
	}
	srcLen, dstLen := fixture.AudioDurations(t, in), fixture.AudioDurations(t, out)
	for i := range srcLen {
		assert.InDelta(t, srcLen[i], dstLen[i], transcode.AudioTolerance, "length of audio track %d", i)
	}
	assert.Len(t, dst.StreamsOf("subtitle"), len(src.StreamsOf("subtitle")), "subtitle tracks")
	assert.Len(t, dst.Chapters, len(src.Chapters), "chapters")
	assert.Equal(t, src.Format.Tags["title"], dst.Format.Tags["title"], "title")
	assertNoTemp(t, out)
}

// displaySize is the size a player shows v at: turned by its rotation.
func displaySize(v fixture.Stream) (int, int) {
	if r := v.Rotation(); r == 90 || r == -90 || r == 270 || r == -270 {
		return v.Height, v.Width
	}
	return v.Width, v.Height
}

func language(s fixture.Stream) string {
	if l := s.Tags["language"]; l != "und" {
		return l
	}
	return ""
}

// assertNoTemp asserts that nothing but out's own name was written beside
// it: no ".OUT.chunkcode-*" temporary file.
func assertNoTemp(t *testing.T, out string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".chunkcode-*"))
	require.NoError(t, err)
	assert.Empty(t, matches, "temporary output left behind")
}

func TestPipeline(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	tests := []struct {
		name string
		spec fixture.Spec
		ext  string // output extension
		req  func(*transcode.Request)
		// check adds case-specific assertions to checkOutput's.
		check func(t *testing.T, in, out string, sum *transcode.Summary)
	}{
		{
			name: "variable frame rate mkv keeps its frame timing in mkv",
			spec: fixture.Spec{Name: "vfr.mkv", VFR: true, Audio: 1},
			ext:  ".mkv", check: sameTiming,
		},
		{
			name: "variable frame rate mkv keeps its frame timing in mp4",
			spec: fixture.Spec{Name: "vfr.mkv", VFR: true, Audio: 1},
			ext:  ".mp4", check: sameTiming,
		},
		{
			name: "rotated phone mp4 keeps its rotation in mp4",
			spec: fixture.Spec{Rotate: 90, Audio: 1},
			ext:  ".mp4",
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				src, dst := fixture.Inspect(t, in).Video(t), fixture.Inspect(t, out).Video(t)
				require.NotZero(t, src.Rotation())
				assert.Equal(t, src.Rotation(), dst.Rotation(), "display rotation")
				assert.Equal(t, [2]int{160, 120}, [2]int{dst.Width, dst.Height}, "coded size")
			},
		},
		{
			name: "rotated phone mp4 is turned upright in mkv",
			spec: fixture.Spec{Rotate: 90, Audio: 1},
			ext:  ".mkv",
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				dst := fixture.Inspect(t, out).Video(t)
				assert.Zero(t, dst.Rotation(), "no rotation left to apply")
				assert.Equal(t, [2]int{120, 160}, [2]int{dst.Width, dst.Height}, "width and height swapped")
			},
		},
		{
			name: "no audio gives no audio",
			spec: fixture.Spec{},
			ext:  ".mp4",
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				info := fixture.Inspect(t, out)
				assert.Len(t, info.Streams, 1, "the video alone")
			},
		},
		{
			name: "two audio tracks subtitles chapters and title survive in mkv",
			spec: multiTrack,
			ext:  ".mkv", check: keepsTracks,
		},
		{
			name: "two audio tracks subtitles chapters and title survive in mp4",
			spec: multiTrack,
			ext:  ".mp4", check: keepsTracks,
		},
		{
			name: "single keyframe clip is cut on exact frames",
			spec: fixture.Spec{GOP: 1000, Audio: 1},
			ext:  ".mp4",
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				assert.GreaterOrEqual(t, sum.Segments, 3)
				assert.Equal(t, 1, sum.KeyframeCuts, "only the first segment starts on a keyframe")
			},
		},
		{
			name: "open GOP MPEG-TS with B-frames",
			spec: fixture.Spec{Name: "open.ts", GOP: 12, BFrames: 3, OpenGOP: true, Audio: 1},
			ext:  ".mp4", check: cutSeveralTimes,
		},
		{
			name: "open GOP MPEG-2 TS with B-frames cut between keyframes",
			spec: fixture.Spec{Name: "mpeg2.ts", Encoder: "mpeg2video", GOP: 15, BFrames: 2, OpenGOP: true, Audio: 1},
			ext:  ".mkv",
			req:  func(r *transcode.Request) { r.SegmentDuration = 300 * time.Millisecond },
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				assert.Less(t, sum.KeyframeCuts, sum.Segments, "some cuts between keyframes")
			},
		},
		{
			name: "mp4 audio stays in sync in mkv",
			spec: fixture.Spec{Audio: 1, SyncMark: time.Second},
			ext:  ".mkv", check: inSync,
		},
		{
			name: "mkv audio stays in sync in mp4",
			spec: fixture.Spec{Name: "sync.mkv", Audio: 1, SyncMark: time.Second},
			ext:  ".mp4", check: inSync,
		},
		{
			name: "MPEG-TS audio stays in sync",
			spec: fixture.Spec{Name: "sync.ts", Audio: 1, SyncMark: time.Second, BFrames: 3},
			ext:  ".mp4", check: inSync,
		},
		{
			name: "audio that starts after the video stays in sync",
			spec: fixture.Spec{Audio: 1, SyncMark: time.Second, AudioDelay: 200 * time.Millisecond},
			ext:  ".mp4", check: inSync,
		},
		{
			name: "copied audio stays in sync",
			spec: fixture.Spec{Audio: 1, SyncMark: time.Second, AudioDelay: 200 * time.Millisecond},
			ext:  ".mkv",
			req:  func(r *transcode.Request) { r.Profile.AudioCodec = "copy" },
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				assert.Equal(t, "aac", fixture.Inspect(t, out).StreamsOf("audio")[0].Codec)
				inSync(t, in, out, sum)
			},
		},
		{
			name: "h265",
			spec: fixture.Spec{Duration: time.Second, Audio: 1},
			ext:  ".mp4", req: codec(media.H265), check: hasCodec("hevc"),
		},
		{
			name: "vp9 in webm",
			spec: fixture.Spec{Duration: time.Second, Audio: 1},
			ext:  ".webm", req: codec(media.VP9), check: hasCodec("vp9"),
		},
		{
			name: "av1",
			spec: fixture.Spec{Duration: time.Second, Audio: 1},
			ext:  ".mkv", req: codec(media.AV1), check: hasCodec("av1"),
		},
		{
			name: "h264 in mov",
			spec: fixture.Spec{Duration: time.Second, Audio: 1},
			ext:  ".mov", check: hasCodec("h264"),
		},
		{
			name: "height scales keeping the aspect ratio and even dimensions",
			spec: fixture.Spec{Width: 160, Height: 90},
			ext:  ".mp4",
			req:  func(r *transcode.Request) { r.Profile.Height = 50 },
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				v := fixture.Inspect(t, out).Video(t)
				assert.Equal(t, 50, v.Height)
				assert.Zero(t, v.Width%2, "even width, got %d", v.Width)
				assert.InDelta(t, 50*160.0/90, float64(v.Width), 2, "aspect ratio kept")
			},
		},
		{
			name: "height is the displayed height of rotated video",
			spec: fixture.Spec{Rotate: 90},
			ext:  ".mp4",
			req:  func(r *transcode.Request) { r.Profile.Height = 80 },
			check: func(t *testing.T, in, out string, sum *transcode.Summary) {
				w, h := displaySize(fixture.Inspect(t, out).Video(t))
				assert.Equal(t, [2]int{60, 80}, [2]int{w, h}, "displayed size")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.req != nil {
				probe := request("", "")
				tt.req(&probe)
				if enc := probe.Profile.Codec.Encoder(); enc != "libx264" {
					fixture.RequireEncoder(t, enc)
				}
			}
			in := fixture.Video(t, tt.spec)
			out := filepath.Join(t.TempDir(), "out"+tt.ext)
			req := request(in, out)
			if tt.req != nil {
				tt.req(&req)
			}
			sum, err := run(t, req, nil)
			require.NoError(t, err)
			checkOutput(t, in, out, sum)
			if tt.check != nil {
				tt.check(t, in, out, sum)
			}
		})
	}
}

var multiTrack = fixture.Spec{Name: "multi.mkv", Audio: 2, Languages: []string{"eng", "fra"},
	Subtitles: true, Chapters: 3, Title: "Two tracks"}

func keepsTracks(t *testing.T, in, out string, sum *transcode.Summary) {
	info := fixture.Inspect(t, out)
	a := info.StreamsOf("audio")
	require.Len(t, a, 2)
	assert.Equal(t, "eng", a[0].Tags["language"])
	assert.Equal(t, "fra", a[1].Tags["language"])
	assert.Len(t, info.StreamsOf("subtitle"), 1)
	assert.Len(t, info.Chapters, 3)
	assert.Equal(t, "Two tracks", info.Format.Tags["title"])
}

func sameTiming(t *testing.T, in, out string, sum *transcode.Summary) {
	want, got := fixture.FrameTimes(t, in), fixture.FrameTimes(t, out)
	require.Len(t, got, len(want))
	worst, i := fixture.TimingError(want, got)
	assert.LessOrEqual(t, worst, 0.001, "frame %d is %.4fs off the source's timing", i, worst)
	cutSeveralTimes(t, in, out, sum)
}

func cutSeveralTimes(t *testing.T, in, out string, sum *transcode.Summary) {
	assert.GreaterOrEqual(t, sum.Segments, 3, "the fixture is cut several times")
}

// inSync asserts that the tone starts where the picture turns white just as
// in the source.
func inSync(t *testing.T, in, out string, sum *transcode.Summary) {
	sv, sa := fixture.Onsets(t, in)
	ov, oa := fixture.Onsets(t, out)
	assert.InDelta(t, sa-sv, oa-ov, 0.005, "audio minus video onset: source %.4fs, output %.4fs", sa-sv, oa-ov)
	cutSeveralTimes(t, in, out, sum)
}

// codec sets the codec with its fastest preset.
func codec(c media.Codec) func(*transcode.Request) {
	preset := map[media.Codec]string{media.H265: "ultrafast", media.VP9: "8", media.AV1: "12"}[c]
	return func(r *transcode.Request) { r.Profile.Codec, r.Profile.Preset = c, preset }
}

func hasCodec(name string) func(t *testing.T, in, out string, sum *transcode.Summary) {
	return func(t *testing.T, in, out string, sum *transcode.Summary) {
		assert.Equal(t, name, fixture.Inspect(t, out).Video(t).Codec)
	}
}

// hook is a backend whose sessions pass each Encode to encode and each
// Close to close, when set, instead of straight to the session the wrapped
// backend started, which encode may call on as next.
type hook struct {
	transcode.Backend
	encode func(ctx context.Context, job transcode.Job, progress ffmpeg.Progress, next transcode.Session) (transcode.Result, error)
	close  func(ctx context.Context, keep bool) error
}

func (h hook) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	s, err := h.Backend.Start(ctx, src, jobs)
	if err != nil {
		return s, err
	}
	return hookSession{next: s, h: h}, nil
}

type hookSession struct {
	next transcode.Session
	h    hook
}

func (s hookSession) Encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress) (transcode.Result, error) {
	if s.h.encode == nil {
		return s.next.Encode(ctx, job, progress)
	}
	return s.h.encode(ctx, job, progress, s.next)
}

func (s hookSession) Close(ctx context.Context, keep bool) error {
	if s.h.close == nil {
		return s.next.Close(ctx, keep)
	}
	return s.h.close(ctx, keep)
}

// counting wraps a backend and counts Encode calls.
type counting struct {
	transcode.Backend
	mu    sync.Mutex
	calls map[int]int
}

func (c *counting) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	return hook{Backend: c.Backend, encode: c.encode}.Start(ctx, src, jobs)
}

func (c *counting) encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress, next transcode.Session) (transcode.Result, error) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[int]int{}
	}
	c.calls[job.Index]++
	c.mu.Unlock()
	return next.Encode(ctx, job, progress)
}

func (c *counting) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

func TestResume(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	req := request(in, out)
	req.WorkDir = filepath.Join(dir, "work")

	sum, err := run(t, req, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, sum.Segments, 3)
	assert.Zero(t, sum.ResumedSegments, "nothing to resume on the first run")
	segments, err := filepath.Glob(filepath.Join(req.WorkDir, "seg-*.mp4"))
	require.NoError(t, err)
	require.Len(t, segments, sum.Segments, "segments kept in the work directory")
	sort.Strings(segments)

	t.Run("reuses every verified segment", func(t *testing.T) {
		req := req
		req.Resume = true
		b := &counting{Backend: &transcode.Local{}}
		sum2, err := run(t, req, b)
		require.NoError(t, err)
		assert.Equal(t, sum.Segments, sum2.ResumedSegments)
		assert.Zero(t, b.total(), "segments encoded again")
		checkOutput(t, in, out, sum2)
	})

	t.Run("re-encodes a corrupted segment", func(t *testing.T) {
		req := req
		req.Resume = true
		data, err := os.ReadFile(segments[1])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(segments[1], data[:len(data)/2], 0o644))
		b := &counting{Backend: &transcode.Local{}}
		sum2, err := run(t, req, b)
		require.NoError(t, err)
		assert.Equal(t, sum.Segments-1, sum2.ResumedSegments)
		assert.Equal(t, map[int]int{1: 1}, b.calls, "only the corrupted segment is encoded")
		checkOutput(t, in, out, sum2)
	})

	t.Run("does not reuse segments made with other settings", func(t *testing.T) {
		req := req
		req.Resume = true
		req.Profile.CRF = transcode.CRF(30)
		sum2, err := run(t, req, nil)
		require.NoError(t, err)
		assert.Zero(t, sum2.ResumedSegments)
		checkOutput(t, in, out, sum2)
	})
}

// errInjected is the failure flaky backends report.
var errInjected = errors.New("injected failure")

// flaky fails a segment's first encodes, leaving junk where the segment
// goes as a crashed encoder might.
type flaky struct {
	transcode.Backend
	segment int
	fails   int // how many times to fail; -1 for always
	mu      sync.Mutex
}

func (f *flaky) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	return hook{Backend: f.Backend, encode: f.encode}.Start(ctx, src, jobs)
}

func (f *flaky) encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress, next transcode.Session) (transcode.Result, error) {
	f.mu.Lock()
	fail := job.Index == f.segment && f.fails != 0
	if fail && f.fails > 0 {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		if err := os.WriteFile(job.Output, []byte("half a segment"), 0o644); err != nil {
			return transcode.Result{}, err
		}
		return transcode.Result{}, errInjected
	}
	return next.Encode(ctx, job, progress)
}

func TestRetries(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})

	t.Run("a segment that fails once is retried", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out.mp4")
		var retried []int
		p := &transcode.Pipeline{
			Backend: &flaky{Backend: &transcode.Local{}, segment: 1, fails: 1},
			Notify: func(e transcode.Event) {
				if e.Kind == transcode.EventRetry {
					retried = append(retried, e.Segment.Index)
					assert.ErrorIs(t, e.Err, errInjected)
				}
			},
		}
		sum, err := p.Run(context.Background(), request(in, out))
		require.NoError(t, err)
		assert.Equal(t, 1, sum.Retries)
		assert.Equal(t, []int{1}, retried, "retry events")
		checkOutput(t, in, out, sum)
	})

	t.Run("a segment that always fails fails the run", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		out := filepath.Join(dir, "out.mp4")
		b := &counting{Backend: &flaky{Backend: &transcode.Local{}, segment: 2, fails: -1}}
		sum, err := run(t, request(in, out), b)
		require.Error(t, err)
		assert.Nil(t, sum)
		assert.ErrorIs(t, err, errInjected)
		assert.Contains(t, err.Error(), "segment 3 ", "the error names the segment, counted from 1 as progress does")
		b.mu.Lock()
		assert.Equal(t, 1+transcode.DefaultRetries, b.calls[2], "attempts at the failing segment")
		b.mu.Unlock()
		assert.NoFileExists(t, out)
		assertNoTemp(t, out)
	})
}

// uncleanable is a backend whose cleanup after the run fails.
func uncleanable(b transcode.Backend) transcode.Backend {
	return hook{Backend: b, close: func(context.Context, bool) error { return errCleanup }}
}

var errCleanup = errors.New("injected cleanup failure")

// TestCleanupFailure checks that a backend that cannot clean up after a good
// run warns, in the events and the summary, and still delivers the output.
func TestCleanupFailure(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	out := filepath.Join(t.TempDir(), "out.mp4")
	var warnings []error
	p := &transcode.Pipeline{
		Backend: uncleanable(&transcode.Local{}),
		Notify: func(e transcode.Event) {
			if e.Kind == transcode.EventWarning {
				warnings = append(warnings, e.Err)
			}
		},
	}
	sum, err := p.Run(context.Background(), request(in, out))
	require.NoError(t, err)
	require.Len(t, warnings, 1)
	assert.ErrorIs(t, warnings[0], errCleanup)
	assert.Equal(t, []string{warnings[0].Error()}, sum.Warnings)
	checkOutput(t, in, out, sum)
}

func TestOutputIsInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	in := fixture.Video(t, fixture.Spec{Dir: dir})
	link := filepath.Join(dir, "link.mp4")
	require.NoError(t, os.Symlink(in, link))
	hard := filepath.Join(dir, "hard.mp4")
	require.NoError(t, os.Link(in, hard))
	before := digest(t, in)

	tests := []struct{ name, out string }{
		{"the same path", in},
		{"a ./ spelling", dir + "/./" + filepath.Base(in)},
		{"a ../ spelling", dir + "/../" + filepath.Base(dir) + "/" + filepath.Base(in)},
		{"a symlink to the input", link},
		{"a hard link to the input", hard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, request(in, tt.out), nil)
			require.Error(t, err)
			assert.ErrorIs(t, err, transcode.ErrSameFile)
			assert.Equal(t, before, digest(t, in), "the input is untouched")
			assertNoTemp(t, in)
		})
	}
}

func TestExistingOutput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	const old = "the previous output"

	t.Run("is intact when the run fails", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out.mp4")
		fixture.WriteFile(t, out, old)
		_, err := run(t, request(in, out), &flaky{Backend: &transcode.Local{}, segment: 0, fails: -1})
		require.Error(t, err)
		assert.Equal(t, old, readString(t, out))
		assertNoTemp(t, out)
	})

	t.Run("is replaced only at the end", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out.mp4")
		fixture.WriteFile(t, out, old)
		b := &watching{Backend: &transcode.Local{}, path: out, want: old}
		sum, err := run(t, request(in, out), b)
		require.NoError(t, err)
		assert.Positive(t, b.seen, "the output was looked at while segments were encoded")
		assert.Zero(t, b.changed, "the old output changed while segments were encoded")
		checkOutput(t, in, out, sum)
	})
}

// watching checks, at every Encode, that path still holds want.
type watching struct {
	transcode.Backend
	path, want    string
	mu            sync.Mutex
	seen, changed int
}

func (w *watching) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	return hook{Backend: w.Backend, encode: w.encode}.Start(ctx, src, jobs)
}

func (w *watching) encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress, next transcode.Session) (transcode.Result, error) {
	b, err := os.ReadFile(w.path)
	w.mu.Lock()
	w.seen++
	if err != nil || string(b) != w.want {
		w.changed++
	}
	w.mu.Unlock()
	return next.Encode(ctx, job, progress)
}

func TestBadInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	good := fixture.Video(t, fixture.Spec{Dir: dir, Name: "good.mp4", Duration: time.Second})
	text := filepath.Join(dir, "text.mp4")
	fixture.WriteFile(t, text, "not a video\n")
	audio := fixture.Video(t, fixture.Spec{Dir: dir, Name: "audio.m4a", NoVideo: true, Audio: 1})
	truncated := fixture.Truncate(t, fixture.Video(t, fixture.Spec{Name: "whole.mp4", Faststart: true, Audio: 1}), "half.mp4", 0.5)

	tests := []struct {
		name, in, out string
		codec         media.Codec
		want          string // in the error
	}{
		{"missing input", filepath.Join(dir, "missing.mp4"), "out.mp4", "", "missing.mp4"},
		{"not media", text, "out.mp4", "", "text.mp4: not a media file"},
		{"truncated", truncated, "out.mp4", "", "half.mp4: truncated"},
		{"no video", audio, "out.mp4", "", "audio.m4a: no video stream"},
		{"unknown container", good, "out.avi", "", "out.avi"},
		{"codec the container cannot hold", good, "out.webm", media.H264, "out.webm"},
		{"unknown codec", good, "out.mp4", "foo", "foo"},
		{"missing output directory", good, "nodir/out.mp4", "", "nodir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), tt.out)
			req := request(tt.in, out)
			if tt.codec != "" {
				req.Profile.Codec = tt.codec
			}
			sum, err := run(t, req, nil)
			require.Error(t, err)
			assert.Nil(t, sum)
			assert.Contains(t, err.Error(), tt.want)
			assert.NoFileExists(t, out)
		})
	}
}

// TestRelativeNames is not parallel: it changes the working directory.
func TestRelativeNames(t *testing.T) {
	fixture.RequireFFmpeg(t)
	dir := t.TempDir()
	fixture.Video(t, fixture.Spec{Dir: dir, Name: "10:30.mp4", Audio: 1})
	t.Chdir(dir)
	// ffmpeg would read "10:30.mp4" as a URL with the scheme "10".
	for _, out := range []string{"11:45.mkv", "out.mp4"} {
		t.Run(out, func(t *testing.T) {
			sum, err := run(t, request("10:30.mp4", out), nil)
			require.NoError(t, err)
			checkOutput(t, "./10:30.mp4", "./"+out, sum)
		})
	}
}

// TestCancel is not parallel: it points TMPDIR at a directory of its own.
func TestCancel(t *testing.T) {
	fixture.RequireFFmpeg(t)
	in := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Audio: 1})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the pipeline makes its work directory

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &transcode.Pipeline{Notify: func(e transcode.Event) {
		if e.Kind == transcode.EventSegment {
			cancel()
		}
	}}
	req := request(in, out)
	req.Workers = 1
	start := time.Now()
	_, err := p.Run(ctx, req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.NoFileExists(t, out)
	assertNoTemp(t, out)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "temporary work directory left behind")
}

func digest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// hungCleanup is a backend whose cleanup hangs, as on an S3 that accepts
// connections and never answers, until its context ends or a minute
// passes.
func hungCleanup(b transcode.Backend) transcode.Backend {
	return hook{Backend: b, close: func(ctx context.Context, keep bool) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return nil
		}
	}}
}

func TestCleanupIsBounded(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	for _, interrupted := range []bool{false, true} {
		name := map[bool]string{false: "after a run", true: "after an interrupt"}[interrupted]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.mp4")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := &transcode.Pipeline{Backend: hungCleanup(&transcode.Local{}), CleanupTimeout: time.Second}
			p.Notify = func(e transcode.Event) {
				if interrupted && e.Kind == transcode.EventSegment {
					cancel()
				}
			}
			start := time.Now()
			sum, err := p.Run(ctx, request(in, out))
			elapsed := time.Since(start)
			assert.Less(t, elapsed, 30*time.Second, "the run ends once cleanup's time is up")
			if interrupted {
				assert.ErrorIs(t, err, context.Canceled)
				assert.NoFileExists(t, out)
				return
			}
			require.NoError(t, err)
			require.Len(t, sum.Warnings, 1)
			assert.Contains(t, sum.Warnings[0], context.DeadlineExceeded.Error())
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"a killed ffmpeg", &ffmpeg.ExitError{Program: "ffmpeg", Code: -1}, true},
		{"a short segment", fmt.Errorf("check frames: %w", transcode.ErrShortSegment), true},
		{"a failed function", errors.New("function error: timeout"), true},
		{"ffmpeg refusing a setting", &ffmpeg.ExitError{Program: "ffmpeg", Code: 1, Stderr: "height not divisible by 2"}, false},
		{"a full disk with exit status 0", &ffmpeg.ExitError{Program: "ffmpeg", Stderr: "Error writing trailer: No space left on device"}, false},
		{"a seek past the end", fmt.Errorf("check frames: %w", transcode.ErrSeekPastEnd), false},
		{"a permanent function error", fmt.Errorf("job refused: %w", transcode.ErrPermanent), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, transcode.Retryable(tt.err))
		})
	}
}
