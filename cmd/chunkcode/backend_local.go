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
	name   transcode.BackendName
	lambda lambdaOptions
	// lambdaSet are the Lambda flags given, which only the Lambda backend
	// takes.
	lambdaSet []string
}

// changed records which of the Lambda flags fs was given.
func (o *backendOptions) changed(fs *pflag.FlagSet) {
	var lambdaFlags pflag.FlagSet
	(&lambdaOptions{}).AddFlags(&lambdaFlags)
	o.lambdaSet = nil
	lambdaFlags.VisitAll(func(f *pflag.Flag) {
		if fs.Changed(f.Name) {
			o.lambdaSet = append(o.lambdaSet, f.Name)
		}
	})
}

// check refuses Lambda flags with another backend.
func (o *backendOptions) check() error {
	if len(o.lambdaSet) > 0 && o.name != transcode.LambdaBackend {
		return usagef("--%s needs --backend lambda", o.lambdaSet[0])
	}
	return nil
}

func (o *backendOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar((*string)(&o.name), "backend", string(transcode.LocalBackend), "where segments are encoded: local or lambda")
	o.lambda.AddFlags(f)
}

// backend returns the chosen backend and the worker count to use with it.
// When that is the Lambda backend, it is returned a second time as what it
// is, for uploading an s3:// OUTPUT; otherwise the second result is nil.
func (o *backendOptions) backend(ctx context.Context, d *deps, workers int) (transcode.Backend, *lambda.Backend, int, error) {
	switch o.name {
	case transcode.LocalBackend, "":
		b := &transcode.Local{Runner: d.runner}
		return b, nil, defaultWorkers(b, workers), nil
	case transcode.LambdaBackend:
		b, err := o.lambda.backend(ctx, d)
		if err != nil {
			return nil, nil, 0, err
		}
		return b, b, defaultWorkers(b, workers), nil
	}
	return nil, nil, 0, usagef("unknown backend %q (want local or lambda)", o.name)
}

// defaultWorkers returns workers, or b's own default when workers is 0.
func defaultWorkers(b transcode.Backend, workers int) int {
	if workers == 0 {
		return b.Properties().Workers
	}
	return workers
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
