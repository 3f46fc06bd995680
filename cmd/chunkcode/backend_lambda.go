package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/spf13/pflag"
)

// lambdaOptions are the flags of the Lambda backend.
type lambdaOptions struct {
	function   string
	bucket     string
	prefix     string
	region     string
	s3Endpoint string
	endpoints  []string
	memory     int
	arch       string
	rungs      lambda.RungMode // --lambda-rungs, set by transcode
}

func (o *lambdaOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.function, "function", "", `lambda: function name or ARN (default "chunkcode", or "function" with --lambda-endpoint)`)
	f.StringVar(&o.bucket, "bucket", "", "lambda: S3 bucket for staging media")
	f.StringVar(&o.prefix, "prefix", lambda.DefaultPrefix, "lambda: key prefix of staging objects in --bucket")
	f.StringVar(&o.region, "region", "", "lambda: AWS region (default from the AWS configuration)")
	f.StringVar(&o.s3Endpoint, "s3-endpoint", "", "lambda: S3 endpoint URL, path-style (default $AWS_ENDPOINT_URL_S3)")
	f.StringSliceVar(&o.endpoints, "lambda-endpoint", nil, "lambda: endpoint URL serving one invocation at a time, such as an emulator; repeat to spread invocations")
	f.IntVar(&o.memory, "memory", 0, "lambda: function memory in MB for the cost estimate (default from the function configuration)")
	f.StringVar(&o.arch, "lambda-arch", "", "lambda: function architecture for the cost estimate, arm64 or x86_64 (default from the function configuration)")
}

// backend builds the Lambda backend with the AWS configuration d loads.
func (o *lambdaOptions) backend(ctx context.Context, d *deps) (*lambda.Backend, error) {
	if o.bucket == "" {
		return nil, usagef("--backend lambda needs --bucket")
	}
	if o.memory < 0 {
		return nil, usagef("--memory must not be negative")
	}
	arch, err := lambda.ParseArch(o.arch)
	if err != nil {
		return nil, usagef("--lambda-arch: %v", err)
	}
	cfg, err := d.awsConfig(ctx, o.region)
	if err != nil {
		return nil, err
	}
	endpoint := o.s3Endpoint
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
	}
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	function := o.function
	if function == "" && len(o.endpoints) == 0 {
		function = "chunkcode"
	}
	return lambda.New(cfg, lambda.Options{
		Function: function, Bucket: o.bucket, Prefix: o.prefix, Endpoints: o.endpoints,
		S3Endpoint: endpoint, MemoryMB: o.memory, Arch: arch, Runner: d.runner, Rungs: o.rungs,
	})
}

// remoteOutput is an s3:// OUTPUT: the pipeline writes a local temporary
// file, which is uploaded once it is complete and verified.
type remoteOutput struct {
	url   string
	local string // "" when OUTPUT is a local path
	dir   string
}

// output returns where the pipeline writes OUTPUT. An s3:// OUTPUT needs the
// Lambda backend, which uploads it; so does an s3:// INPUT, which the
// functions read where it lies.
func (o *backendOptions) output(in, out string) (*remoteOutput, error) {
	inBucket, inKey, remoteIn := lambda.ParseS3URL(in)
	switch {
	case remoteIn && o.name != transcode.LambdaBackend:
		return nil, usagef("%s: an s3:// INPUT needs --backend lambda", in)
	case !remoteIn && strings.HasPrefix(in, "s3://"):
		return nil, usagef("%s: want s3://bucket/key", in)
	}
	outBucket, outKey, remoteOut := lambda.ParseS3URL(out)
	if remoteIn && remoteOut && inBucket == outBucket && inKey == outKey {
		return nil, fmt.Errorf("%s: %w %s; choose another output", out, transcode.ErrSameFile, in)
	}
	if !remoteOut {
		if strings.HasPrefix(out, "s3://") {
			return nil, usagef("%s: want s3://bucket/key", out)
		}
		return &remoteOutput{local: out}, nil
	}
	if o.name != transcode.LambdaBackend {
		return nil, usagef("%s: an s3:// OUTPUT needs --backend lambda", out)
	}
	dir, err := os.MkdirTemp("", "chunkcode-output-")
	if err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	return &remoteOutput{url: out, local: filepath.Join(dir, "output"+path.Ext(out)), dir: dir}, nil
}

// finish uploads a verified s3:// OUTPUT with b, the Lambda backend the run
// encoded on; b is nil on any other backend.
func (r *remoteOutput) finish(ctx context.Context, b *lambda.Backend) error {
	if r.url == "" {
		return nil
	}
	if b == nil {
		return fmt.Errorf("upload %s: not on the lambda backend", r.url)
	}
	return b.UploadOutput(ctx, r.local, r.url)
}

// cleanup removes the local copy of an s3:// OUTPUT.
func (r *remoteOutput) cleanup() {
	if r.dir != "" {
		os.RemoveAll(r.dir)
	}
}
