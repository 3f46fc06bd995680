package lambda_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/backendtest"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/require"
)

// TestBackend runs the conformance suite every backend passes on the Lambda
// backend as it runs on AWS: one regional Lambda endpoint (a stand-in in
// front of an emulator, given as the configuration's endpoint, with no
// Options.Endpoints) per backend, and one shared S3 server.
func TestBackend(t *testing.T) {
	s3 := lambdatest.StartS3(t)
	lambdatest.Chunkcode(t)
	backendtest.Run(t, func(t *testing.T) transcode.Backend {
		fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 1})
		cfg := s3.Config()
		cfg.BaseEndpoint = aws.String(fns.Regional(t).URL)
		b, err := lambda.New(cfg, lambda.Options{Function: "chunkcode", Bucket: s3.Bucket, S3Endpoint: s3.Endpoint})
		require.NoError(t, err)
		return b
	})
}
