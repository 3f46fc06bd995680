package transcode

import (
	"context"
	"errors"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// Retryable reports whether another try of a segment that failed with err
// can pass: after a killed process, a timeout, a throttled or failed
// function or a short segment. A full disk, an ffmpeg that exited with an
// error on this machine (a setting its encoder refuses, a frame too large),
// a seek past the end and anything marked ErrPermanent are not retried.
func Retryable(err error) bool {
	var ee *ffmpeg.ExitError
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrPermanent), errors.Is(err, ffmpeg.ErrNoSpace), errors.Is(err, ErrSeekPastEnd):
		return false
	case errors.As(err, &ee):
		return ee.Code < 0 // killed by a signal
	}
	return true
}

// retry calls try until it succeeds, at most retries+1 times, and returns
// how many times it retried and try's last error. A failure is not tried
// again once ctx is done or when retryable says so; before each retry,
// onRetry receives the error of the try before.
func retry(ctx context.Context, retries int, retryable func(error) bool, onRetry func(error), try func() error) (int, error) {
	for attempt := 0; ; attempt++ {
		err := try()
		if err == nil || attempt >= retries || ctx.Err() != nil || !retryable(err) {
			return attempt, err
		}
		onRetry(err)
	}
}
