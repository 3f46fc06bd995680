package lambda

import (
	"context"
	"time"
)

// ProgressInterval is how often the handler reports progress, and how
// often the backend reads it.
const ProgressInterval = time.Second

// everyInterval calls f every ProgressInterval, one call at a time, until
// the returned stop is called; stop returns once f has returned. f's
// context is cancelled by stop.
func everyInterval(ctx context.Context, f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			f(ctx)
		}
	}()
	return func() { cancel(); <-done }
}
