// Package backendtest is the conformance suite every transcode.Backend must
// pass, after restic's internal/backend/test: a backend's own test calls Run
// with a constructor, and the suite encodes segments of fixtures made with
// ffmpeg at test time and checks the results with ffprobe.
//
// The suite needs ffmpeg on the machine running the tests, to make fixtures
// and to check segments, whatever the backend encodes with.
package backendtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CancelGrace is how long Encode may take to return once its context is
// cancelled.
const CancelGrace = 3 * time.Second

// Run runs the conformance suite against the backends newBackend makes; it
// is called once per subtest. Backends that implement transcode.Preparer
// are prepared with the jobs of each subtest, and transcode.Finisher is
// called when the subtest ends.
func Run(t *testing.T, newBackend func(t *testing.T) transcode.Backend) {
	fixture.RequireFFmpeg(t)
	s := &suite{newBackend: newBackend, dir: t.TempDir(), sources: map[string]*lazySource{}}

	t.Run("encodes a segment that starts on a keyframe", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "gop")
		seg := src.segment(t, func(g splitter.Segment) bool { return g.Keyframe && g.Index > 0 })
		job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
		b := s.session(t, src, job)
		var reported []int
		var mu sync.Mutex
		res, err := b.Encode(context.Background(), job, func(n int) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, n)
		})
		require.NoError(t, err)
		src.check(t, seg, job, res)
		mu.Lock()
		defer mu.Unlock()
		assert.True(t, slices.IsSorted(reported), "progress goes forward: %v", reported)
		for _, n := range reported {
			assert.LessOrEqual(t, n, job.Frames, "progress reports no more frames than the job has")
		}
	})

	t.Run("encodes a segment that starts between keyframes", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "single-keyframe")
		seg := src.segment(t, func(g splitter.Segment) bool { return !g.Keyframe })
		job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
		res, err := s.session(t, src, job).Encode(context.Background(), job, nil)
		require.NoError(t, err)
		src.check(t, seg, job, res)
	})

	t.Run("encodes every segment of an open-GOP MPEG-TS exactly", func(t *testing.T) {
		t.Parallel()
		// ffmpeg cannot seek exactly in MPEG-TS; a backend that trusts the
		// seek gets later pictures or too few.
		src := s.source(t, "open-gop-ts")
		dir := t.TempDir()
		jobs := make([]transcode.Job, len(src.plan.Segments))
		for i, seg := range src.plan.Segments {
			jobs[i] = src.job(seg, filepath.Join(dir, fmt.Sprintf("seg-%d.mp4", i)))
		}
		b := s.session(t, src, jobs...)
		for i, seg := range src.plan.Segments {
			res, err := b.Encode(context.Background(), jobs[i], nil)
			require.NoError(t, err, "segment %d", i)
			src.check(t, seg, jobs[i], res)
		}
	})

	t.Run("keeps variable frame rate timestamps", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "vfr")
		seg := src.plan.Segments[1]
		job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
		res, err := s.session(t, src, job).Encode(context.Background(), job, nil)
		require.NoError(t, err)
		src.check(t, seg, job, res)
		got := fixture.FrameTimes(t, job.Output)
		want := src.times[seg.First : seg.First+seg.Frames]
		require.Len(t, got, len(want))
		worst, i := fixture.TimingError(want, got)
		assert.LessOrEqual(t, worst, 0.001, "frame %d of the segment is %.4fs off the source's timing", i, worst)
	})

	t.Run("scales to the profile height", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "gop")
		seg := src.plan.Segments[0]
		job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
		job.Profile.Height = 60
		res, err := s.session(t, src, job).Encode(context.Background(), job, nil)
		require.NoError(t, err)
		assert.Equal(t, job.Frames, res.Frames)
		v := fixture.Inspect(t, job.Output).Video(t)
		assert.Equal(t, [2]int{80, 60}, [2]int{v.Width, v.Height})
	})

	t.Run("turns rotated pictures upright when asked", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "rotated")
		seg := src.plan.Segments[0]
		job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
		job.RotatePixels = true
		res, err := s.session(t, src, job).Encode(context.Background(), job, nil)
		require.NoError(t, err)
		src.check(t, seg, job, res)
		v := fixture.Inspect(t, job.Output).Video(t)
		assert.Equal(t, [2]int{120, 160}, [2]int{v.Width, v.Height})
		assert.Zero(t, v.Rotation(), "the pictures are turned, so no rotation is left to apply")
	})

	t.Run("encoding the same job again is idempotent", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "gop")
		seg := src.plan.Segments[1]
		job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
		// What a failed earlier attempt may have left behind.
		fixture.WriteFile(t, job.Output, "partial output of an earlier attempt")
		b := s.session(t, src, job)
		for range 2 {
			res, err := b.Encode(context.Background(), job, nil)
			require.NoError(t, err)
			src.check(t, seg, job, res)
		}
	})

	t.Run("concurrent encodes are independent", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "single-keyframe")
		dir := t.TempDir()
		jobs := make([]transcode.Job, len(src.plan.Segments))
		for i, seg := range src.plan.Segments {
			jobs[i] = src.job(seg, filepath.Join(dir, fmt.Sprintf("seg-%d.mp4", i)))
		}
		b := s.session(t, src, jobs...)
		results := make([]transcode.Result, len(jobs))
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i := range jobs {
			wg.Go(func() { results[i], errs[i] = b.Encode(context.Background(), jobs[i], nil) })
		}
		wg.Wait()
		total := 0
		for i, seg := range src.plan.Segments {
			require.NoError(t, errs[i], "segment %d", i)
			src.check(t, seg, jobs[i], results[i])
			total += results[i].Frames
		}
		assert.Equal(t, len(src.frames), total, "the segments hold every source frame")
	})

	t.Run("runs one after another on one backend", func(t *testing.T) {
		t.Parallel()
		// A backend outlives its runs: what one run holds, such as staged
		// objects, must not be what the next one reads once it is freed.
		src := s.source(t, "gop")
		b := s.newBackend(t)
		for run := range 2 {
			seg := src.plan.Segments[run%len(src.plan.Segments)]
			job := src.job(seg, filepath.Join(t.TempDir(), "seg.mp4"))
			sess, err := b.Start(context.Background(), src.media, []transcode.Job{job})
			require.NoError(t, err, "run %d: start", run+1)
			res, err := sess.Encode(context.Background(), job, nil)
			require.NoError(t, err, "run %d: encode", run+1)
			src.check(t, seg, job, res)
			require.NoError(t, sess.Close(context.Background(), false), "run %d: close", run+1)
		}
	})

	t.Run("runs at the same time on one backend are independent", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "gop")
		b := s.newBackend(t)
		dir := t.TempDir()
		jobs := make([]transcode.Job, len(src.plan.Segments))
		for i, seg := range src.plan.Segments {
			jobs[i] = src.job(seg, filepath.Join(dir, fmt.Sprintf("seg-%d.mp4", i)))
		}
		first, err := b.Start(context.Background(), src.media, jobs)
		require.NoError(t, err)
		second, err := b.Start(context.Background(), src.media, jobs[:1])
		require.NoError(t, err)
		// The second run ends, and frees what it holds, while the first
		// is still encoding.
		other := src.job(src.plan.Segments[0], filepath.Join(dir, "other.mp4"))
		res, err := second.Encode(context.Background(), other, nil)
		require.NoError(t, err)
		src.check(t, src.plan.Segments[0], other, res)
		require.NoError(t, second.Close(context.Background(), false))
		for i, seg := range src.plan.Segments {
			res, err := first.Encode(context.Background(), jobs[i], nil)
			require.NoError(t, err, "segment %d of the first run, after the second closed", i+1)
			src.check(t, seg, jobs[i], res)
		}
		require.NoError(t, first.Close(context.Background(), false))
	})

	t.Run("an already cancelled context fails at once", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "gop")
		job := src.job(src.plan.Segments[0], filepath.Join(t.TempDir(), "seg.mp4"))
		b := s.session(t, src, job)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		_, err := b.Encode(ctx, job, nil)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), CancelGrace)
		assertUnusable(t, job)
	})

	t.Run("cancelling stops an encode promptly", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "long")
		job := src.job(src.plan.Segments[0], filepath.Join(t.TempDir(), "seg.mp4"))
		job.Profile.Preset = "veryslow" // long enough to be cancelled mid-way
		b := s.session(t, src, job)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		cancelled := make(chan time.Time, 1)
		done := make(chan error, 1)
		go func() {
			_, err := b.Encode(ctx, job, func(n int) {
				if n > 0 {
					once.Do(func() { cancelled <- time.Now(); cancel() })
				}
			})
			done <- err
		}()
		var at time.Time
		select {
		case at = <-cancelled:
		case err := <-done:
			t.Fatalf("encode ended before it reported progress (err %v); the fixture is too short to cancel", err)
		case <-time.After(time.Minute):
			t.Fatal("no progress reported within a minute")
		}
		select {
		case err := <-done:
			require.Error(t, err)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(at), CancelGrace, "encode returned that long after cancel")
		case <-time.After(CancelGrace):
			t.Fatalf("encode still running %v after cancel", CancelGrace)
		}
		assertUnusable(t, job)
	})

	t.Run("a bad source is an error", func(t *testing.T) {
		t.Parallel()
		src := s.source(t, "gop")
		dir := t.TempDir()
		text := filepath.Join(dir, "text.mp4")
		fixture.WriteFile(t, text, "not a video\n")
		for name, path := range map[string]string{"missing file": filepath.Join(dir, "missing.mp4"), "not media": text} {
			t.Run(name, func(t *testing.T) {
				job := src.job(src.plan.Segments[0], filepath.Join(t.TempDir(), "seg.mp4"))
				job.Source = path
				_, err := s.session(t, src, job).Encode(context.Background(), job, nil)
				require.Error(t, err)
				assertUnusable(t, job)
			})
		}
	})
}

// suite holds fixtures shared by the subtests of one Run.
type suite struct {
	newBackend func(t *testing.T) transcode.Backend
	dir        string // fixtures, removed when Run's test ends
	mu         sync.Mutex
	sources    map[string]*lazySource
}

type lazySource struct {
	once sync.Once
	src  *source
}

// source is a probed fixture with its plan and decoded pictures.
type source struct {
	media  *media.Media
	plan   *splitter.Plan
	frames [][]byte  // luma of every frame, upright, at lumaW x lumaH
	times  []float64 // every frame's presentation time
}

const lumaW, lumaH = 160, 160

// sources are the fixtures subtests encode segments of, with the target
// segment length of their plans (0 for one segment).
var sources = map[string]struct {
	spec    fixture.Spec
	segment time.Duration
}{
	"gop":             {fixture.Spec{Name: "gop.mp4", Audio: 1}, time.Second},
	"single-keyframe": {fixture.Spec{Name: "single.mp4", GOP: 1000}, 500 * time.Millisecond},
	"open-gop-ts":     {fixture.Spec{Name: "open.ts", GOP: 12, BFrames: 3, OpenGOP: true, Audio: 1}, 500 * time.Millisecond},
	"vfr":             {fixture.Spec{Name: "vfr.mkv", VFR: true}, 700 * time.Millisecond},
	"rotated":         {fixture.Spec{Name: "rotated.mp4", Rotate: 90}, time.Second},
	"long":            {fixture.Spec{Name: "long.mp4", Duration: 10 * time.Second, Width: 320, Height: 240, GOP: 250}, 0},
}

// source builds the fixture called name, once per Run.
func (s *suite) source(t *testing.T, name string) *source {
	t.Helper()
	s.mu.Lock()
	l, ok := s.sources[name]
	if !ok {
		l = &lazySource{}
		s.sources[name] = l
	}
	s.mu.Unlock()
	l.once.Do(func() { l.src = s.build(t, name) })
	if l.src == nil {
		t.Fatalf("fixture %q could not be built", name)
	}
	return l.src
}

func (s *suite) build(t *testing.T, name string) *source {
	t.Helper()
	sp, ok := sources[name]
	if !ok {
		t.Fatalf("no fixture %q", name)
	}
	sp.spec.Dir = s.dir
	path := fixture.Video(t, sp.spec)
	m, err := ffmpeg.Runner{}.Probe(context.Background(), path)
	require.NoError(t, err)
	opts := splitter.Options{Workers: 1, SegmentDuration: sp.segment}
	if sp.segment == 0 {
		opts.SegmentDuration = time.Hour
	}
	plan, err := splitter.New(m, opts)
	require.NoError(t, err)
	src := &source{media: m, plan: plan}
	if name != "long" {
		src.frames = fixture.Luma(t, path, lumaW, lumaH)
		src.times = fixture.FrameTimes(t, path)
		require.Len(t, src.frames, len(m.Frames), "decoded frames of %s", name)
	}
	return src
}

// segment returns the first segment of the plan that match accepts.
func (src *source) segment(t *testing.T, match func(splitter.Segment) bool) splitter.Segment {
	t.Helper()
	for _, g := range src.plan.Segments {
		if match(g) {
			return g
		}
	}
	t.Fatalf("no such segment in the plan %+v", src.plan.Segments)
	return splitter.Segment{}
}

// mp4Output is the container of an MP4 output, which carries a display
// rotation: jobs for it leave rotated pictures as coded.
var mp4Output, _ = media.ContainerFor("out.mp4")

// job builds the job for seg the way the pipeline does for an MP4 output.
func (src *source) job(seg splitter.Segment, out string) transcode.Job {
	prof := transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23), Preset: "ultrafast", Threads: 1}
	return transcode.NewJob(src.media, seg, prof, mp4Output, out)
}

// session makes a backend and starts a session on it for jobs, which is
// closed when the test ends.
func (s *suite) session(t *testing.T, src *source, jobs ...transcode.Job) transcode.Session {
	t.Helper()
	return start(t, s.newBackend(t), src, jobs...)
}

// start starts a session on b for jobs, which is closed when the test ends.
func start(t *testing.T, b transcode.Backend, src *source, jobs ...transcode.Job) transcode.Session {
	t.Helper()
	sess, err := b.Start(context.Background(), src.media, jobs)
	if sess != nil {
		t.Cleanup(func() { assert.NoError(t, sess.Close(context.Background(), false)) })
	}
	require.NoError(t, err)
	return sess
}

// check asserts that the segment at job.Output holds exactly the source's
// frames of seg, video only, and that res describes it.
func (src *source) check(t *testing.T, seg splitter.Segment, job transcode.Job, res transcode.Result) {
	t.Helper()
	fi, err := os.Stat(job.Output)
	require.NoError(t, err, "the segment is at job.Output")
	assert.Equal(t, job.Index, res.Index, "result index")
	assert.Equal(t, job.Frames, res.Frames, "result frames")
	assert.Equal(t, fi.Size(), res.Bytes, "result bytes")
	info := fixture.Inspect(t, job.Output)
	require.Len(t, info.Streams, 1, "the segment holds the video only")
	assert.Equal(t, "h264", info.Streams[0].Codec)
	got := fixture.Luma(t, job.Output, lumaW, lumaH)
	require.Len(t, got, job.Frames, "decoded frames")
	if src.frames == nil {
		return
	}
	fixture.SamePictures(t, src.frames[seg.First:seg.First+seg.Frames], got)
}

// assertUnusable asserts that a failed encode left nothing at job.Output
// that could pass for the segment.
func assertUnusable(t *testing.T, job transcode.Job) {
	t.Helper()
	if _, err := os.Stat(job.Output); errors.Is(err, os.ErrNotExist) {
		return
	}
	n, err := ffmpeg.Runner{}.CountFrames(context.Background(), job.Output)
	if err == nil {
		assert.NotEqual(t, job.Frames, n, "a failed encode left a complete segment at %s", job.Output)
	}
}
