package main

import (
	"context"
	"runtime"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/spf13/pflag"
)

// backendOptions choose where segments are encoded.
type backendOptions struct {
	name string
}

func (o *backendOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.name, "backend", "local", "where segments are encoded: local")
}

// backend returns the chosen backend and the worker count to use with it.
func (o *backendOptions) backend(ctx context.Context, workers int) (transcode.Backend, int, error) {
	switch o.name {
	case "local", "":
		if workers == 0 {
			workers = runtime.NumCPU()
		}
		return &transcode.Local{}, workers, nil
	}
	return nil, 0, usagef("unknown backend %q (want local)", o.name)
}

// maybeLambdaHandler serves as a Lambda function handler when started by the
// Lambda runtime; it reports whether it did and the exit code.
func maybeLambdaHandler(ctx context.Context) (bool, int) {
	return false, 0
}
