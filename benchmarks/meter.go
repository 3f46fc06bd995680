package benchmarks

import (
	"context"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// meter wraps a backend to time what the pipeline does not report on its
// own: the backend's preparation (staging) and every Encode call as the
// client sees it, so a remote backend's per-invocation overhead is the
// call's time less the encode time the backend reports.
//
// It always implements transcode.Preparer and transcode.Finisher, passing
// the calls on when the wrapped backend implements them and doing nothing
// otherwise.
type meter struct {
	transcode.Backend

	mu          sync.Mutex
	invocations int       // Encode calls, failed ones included
	overheads   []float64 // each successful call's seconds less its EncodeSeconds
	prepare     float64   // seconds in Prepare
}

var (
	_ transcode.Preparer = (*meter)(nil)
	_ transcode.Finisher = (*meter)(nil)
)

// Encode encodes with the wrapped backend and times the call.
func (m *meter) Encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress) (transcode.Result, error) {
	start := time.Now()
	res, err := m.Backend.Encode(ctx, job, progress)
	d := time.Since(start).Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.invocations++
	if err == nil {
		m.overheads = append(m.overheads, max(d-res.EncodeSeconds, 0))
	}
	return res, err
}

// Prepare runs the wrapped backend's Prepare, if it has one, and times it.
func (m *meter) Prepare(ctx context.Context, src *ffmpeg.Media, jobs []transcode.Job) error {
	p, ok := m.Backend.(transcode.Preparer)
	if !ok {
		return nil
	}
	start := time.Now()
	err := p.Prepare(ctx, src, jobs)
	m.prepare = time.Since(start).Seconds()
	return err
}

// Finish runs the wrapped backend's Finish, if it has one.
func (m *meter) Finish(ctx context.Context, keep bool) error {
	if f, ok := m.Backend.(transcode.Finisher); ok {
		return f.Finish(ctx, keep)
	}
	return nil
}
