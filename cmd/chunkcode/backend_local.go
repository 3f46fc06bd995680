package main

import (
	"context"
	"os"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/spf13/pflag"
)

// backendOptions choose where segments are encoded.
type backendOptions struct {
	name   string
	lambda lambdaOptions
}

func (o *backendOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.name, "backend", "local", "where segments are encoded: local or lambda")
	o.lambda.AddFlags(f)
}

// backend returns the chosen backend and the worker count to use with it.
func (o *backendOptions) backend(ctx context.Context, workers int) (transcode.Backend, int, error) {
	switch o.name {
	case "local", "":
		b := &transcode.Local{}
		if workers == 0 {
			workers = b.Properties().Workers
		}
		return b, workers, nil
	case "lambda":
		b, err := o.lambda.backend(ctx)
		if err != nil {
			return nil, 0, err
		}
		if workers == 0 {
			workers = b.Properties().Workers
		}
		return b, workers, nil
	}
	return nil, 0, usagef("unknown backend %q (want local or lambda)", o.name)
}

// maybeLambdaHandler serves as a Lambda function handler when started by the
// Lambda runtime; it reports whether it did and the exit code.
func maybeLambdaHandler(ctx context.Context) (bool, int) {
	if os.Getenv(lambda.EnvRuntimeAPI) == "" {
		return false, 0
	}
	lambda.Serve(ctx, lambda.NewHandler()) // returns only by exiting
	return true, exitFailure
}
