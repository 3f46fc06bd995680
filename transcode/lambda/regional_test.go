package lambda_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRegionalEndpoint runs the backend as it runs on AWS: one Lambda
// endpoint, found in AWS_ENDPOINT_URL_LAMBDA by the standard AWS
// configuration, and no Options.Endpoints. The endpoint is a stand-in in
// front of two emulators; the invocations in flight must reach the
// pipeline's workers, and more workers than emulators are throttled and
// backed off, not failed.
func TestRegionalEndpoint(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s3 := lambdatest.StartS3(t)
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2})
	regional := fns.Regional(t)
	for _, e := range append(s3.Env(), "AWS_ENDPOINT_URL_LAMBDA="+regional.URL) {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	in := fixture.Video(t, fixture.Spec{Name: "in.mp4", Dir: dir, Duration: 3 * time.Second})
	frames := fixture.Frames(t, in)
	cfg, err := config.LoadDefaultConfig(context.Background())
	require.NoError(t, err)
	invoked := 0
	for _, workers := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			b, err := lambda.New(cfg, lambda.Options{
				Function: "chunkcode", Bucket: s3.Bucket, S3Endpoint: s3.Endpoint, MemoryMB: 1024, Arch: "arm64",
			})
			require.NoError(t, err)
			out := filepath.Join(t.TempDir(), "out.mp4")
			req := request(in, out)
			req.Workers = workers
			before := regional.Throttles()
			sum, retries, err := run(t, b, req)
			require.NoError(t, err, fns.Logs())
			assert.Empty(t, retries)
			assert.Equal(t, frames, fixture.Frames(t, out))
			require.GreaterOrEqual(t, sum.Segments, 4, "more segments than workers")
			assert.Equal(t, min(workers, 2), regional.MaxInFlight(), "invocations in flight at once")
			invoked += sum.Segments
			assert.Equal(t, invoked, regional.Invocations())
			throttles := regional.Throttles() - before
			st := b.Stats()
			assert.Equal(t, throttles, st.Throttles, "every 429 is backed off")
			assert.Equal(t, map[string]int{"": sum.Segments + throttles}, st.Invocations)
			if workers > 2 {
				assert.Positive(t, throttles, "a third invocation at once is throttled")
			}
			assert.Empty(t, staged(t, s3, b), "staging objects left")
		})
	}
	for i, n := range fns.Invocations() {
		assert.Positive(t, n, "emulator %d was never invoked", i)
	}
}
