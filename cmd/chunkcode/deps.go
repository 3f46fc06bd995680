package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
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
// configured region unless it is "". It gets the credentials at once, so
// that missing ones fail before any work. The SDK logs nothing: its
// warnings, such as falling back to IMDSv1, are not the user's concern.
func loadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithLogger(logging.Nop{}),
		config.WithClientLogMode(0),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, credentialsError(err)
	}
	return cfg, nil
}

// credentialsError says why the default credential chain found nothing:
// when it reached its last link, the EC2 instance role, it names the links
// it tried.
func credentialsError(err error) error {
	profile := cmp.Or(os.Getenv("AWS_PROFILE"), os.Getenv("AWS_DEFAULT_PROFILE"), "default")
	if !strings.Contains(err.Error(), "no EC2 IMDS role found") {
		return fmt.Errorf("get AWS credentials (profile %s): %w", profile, err)
	}
	imds := "the EC2 instance role"
	if strings.Contains(err.Error(), "AWS_EC2_METADATA_DISABLED") {
		imds += " (disabled by AWS_EC2_METADATA_DISABLED)"
	}
	return fmt.Errorf("no AWS credentials found: tried AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profile %s in %s and %s, and %s",
		profile, config.DefaultSharedCredentialsFilename(), config.DefaultSharedConfigFilename(), imds)
}
