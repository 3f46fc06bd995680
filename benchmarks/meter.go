package benchmarks

import (
	"context"
	"sync"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// meter wraps a backend to count the Encode calls of its sessions, failed
// ones included, and to time each successful call as the client sees it: a
// remote backend's per-invocation overhead is the call's time less the
// encode and download times it reports. Everything else, its properties
// and its sessions' Close, is the wrapped backend's.
type meter struct {
	transcode.Backend

	mu          sync.Mutex
	invocations int
	overheads   []float64 // seconds of each successful call less its encode and download
}

var _ transcode.Backend = (*meter)(nil)

// Start starts a session on the wrapped backend and meters it.
func (m *meter) Start(ctx context.Context, src *media.Media, jobs []transcode.Job) (transcode.Session, error) {
	s, err := m.Backend.Start(ctx, src, jobs)
	if s == nil {
		return nil, err
	}
	return &meteredSession{Session: s, m: m}, err
}

type meteredSession struct {
	transcode.Session
	m *meter
}

// Encode encodes with the wrapped session and times the call.
func (s *meteredSession) Encode(ctx context.Context, job transcode.Job, progress ffmpeg.Progress) (transcode.Result, error) {
	start := time.Now()
	res, err := s.Session.Encode(ctx, job, progress)
	d := time.Since(start).Seconds()
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.invocations++
	if err == nil {
		download := 0.0
		if res.Remote != nil {
			download = res.Remote.DownloadSeconds
		}
		s.m.overheads = append(s.m.overheads, max(d-res.EncodeSeconds-download, 0))
	}
	return res, err
}
