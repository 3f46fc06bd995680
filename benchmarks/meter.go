package benchmarks

import (
	"context"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// meter wraps a backend to count its Encode calls, failed ones included,
// and to time each successful call as the client sees it: a remote
// backend's per-invocation overhead is the call's time less the encode and
// download times it reports.
//
// It always implements transcode.Preparer and transcode.Finisher, passing
// the calls on when the wrapped backend implements them and doing nothing
// otherwise. A backend's other optional interfaces are hidden by the
// wrapper; pass them on here when the pipeline gains any.
type meter struct {
	transcode.Backend

	mu          sync.Mutex
	invocations int
	overheads   []float64 // seconds of each successful call less its encode and download
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
		m.overheads = append(m.overheads, max(d-res.EncodeSeconds-res.Remote[RemoteDownloadSeconds], 0))
	}
	return res, err
}

// Prepare runs the wrapped backend's Prepare, if it has one.
func (m *meter) Prepare(ctx context.Context, src *media.Media, jobs []transcode.Job) error {
	if p, ok := m.Backend.(transcode.Preparer); ok {
		return p.Prepare(ctx, src, jobs)
	}
	return nil
}

// Finish runs the wrapped backend's Finish, if it has one.
func (m *meter) Finish(ctx context.Context, keep bool) error {
	if f, ok := m.Backend.(transcode.Finisher); ok {
		return f.Finish(ctx, keep)
	}
	return nil
}
