package lambda_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/backendtest"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/require"
)

// TestBackend runs the conformance suite every backend passes on the Lambda
// backend, with one emulator per backend and one shared S3 server.
func TestBackend(t *testing.T) {
	s3 := lambdatest.StartS3(t)
	lambdatest.Chunkcode(t)
	backendtest.Run(t, func(t *testing.T) transcode.Backend {
		fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1})
		b, err := lambda.New(s3.Config(), lambda.Options{Bucket: s3.Bucket, Endpoints: fns.Endpoints, S3Endpoint: s3.Endpoint})
		require.NoError(t, err)
		return b
	})
}
