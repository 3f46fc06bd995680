package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// deps are what the commands take from the world outside chunkcode: main
// builds them once with newDeps and hands them to every command constructor,
// and tests may build their own.
type deps struct {
	// runner starts ffmpeg and ffprobe.
	runner ffmpeg.Runner
	// stdout and stderr are where commands print results and progress.
	stdout, stderr io.Writer
	// awsConfig loads the AWS configuration; region "" keeps the configured
	// one.
	awsConfig func(ctx context.Context, region string) (aws.Config, error)
}

// newDeps returns the deps of the chunkcode binary: ffmpeg from PATH, the
// process's standard output and error, and the standard AWS configuration.
func newDeps() *deps {
	return &deps{runner: ffmpeg.Runner{}, stdout: os.Stdout, stderr: os.Stderr, awsConfig: loadAWSConfig}
}

// loadAWSConfig loads the standard AWS configuration: credentials and region
// from the environment, shared files or roles, with region overriding the
// configured region unless it is "".
func loadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
