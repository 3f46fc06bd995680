package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/deploy"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type lambdaDeployOptions struct {
	function  string
	zip       string
	role      string
	memory    int
	timeout   time.Duration
	ephemeral int
	layers    []string
	arch      string
	region    string
	bucket    string
	otel      string
	otelSet   bool
}

func (o *lambdaDeployOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.function, "function", "chunkcode", "function name")
	f.StringVar(&o.zip, "zip", "function.zip", "deployment package from chunkcode lambda package")
	f.StringVar(&o.role, "role", "", "execution role ARN (needed to create the function)")
	f.IntVar(&o.memory, "memory", deploy.DefaultMemoryMB, "memory in MB; Lambda gives 6 vCPUs from 10240")
	f.DurationVar(&o.timeout, "timeout", deploy.DefaultTimeout, "function timeout, at most 15m")
	f.IntVar(&o.ephemeral, "ephemeral-storage", deploy.DefaultEphemeralMB, "/tmp size in MB (512-10240)")
	f.StringSliceVar(&o.layers, "layer", nil, "layer ARN, such as an ffmpeg layer providing /opt/bin/ffmpeg; repeat for more")
	f.StringVar(&o.arch, "arch", "", "function architecture: arm64 or x86_64 (amd64); must match the package (default the package's)")
	f.StringVar(&o.region, "region", "", "AWS region (default from the AWS configuration)")
	f.StringVar(&o.bucket, "bucket", "", "S3 bucket to upload a package over 50 MB through")
	f.StringVar(&o.otel, "otel-endpoint", "", "OTLP/HTTP endpoint the function exports its spans to, as OTEL_EXPORTER_OTLP_ENDPOINT; \"\" removes it (default unchanged)")
}

// newLambdaDeployCommand returns the lambda deploy command. It runs runF
// with the parsed options instead of deploying when runF is not nil.
func newLambdaDeployCommand(d *deps, runF func(*lambdaDeployOptions) error) *cobra.Command {
	o := &lambdaDeployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Create or update the function",
		Long: `Create the function from the package "chunkcode lambda package" wrote, or
update its code and configuration, with the AWS SDK and the standard
credential chain, then wait until it is ready to invoke. The function's
architecture is the package's bootstrap's.`,
		Example: `  chunkcode lambda deploy --role arn:aws:iam::123456789012:role/chunkcode --layer arn:aws:lambda:us-east-1:123456789012:layer:ffmpeg:1`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.otelSet = cmd.Flags().Changed("otel-endpoint")
			if runF != nil {
				return runF(o)
			}
			return runLambdaDeploy(cmd, d, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runLambdaDeploy(cmd *cobra.Command, d *deps, o *lambdaDeployOptions) error {
	switch {
	case o.memory < 128 || o.memory > 10240:
		return usagef("--memory %d is out of range (128-10240)", o.memory)
	case o.timeout < time.Second || o.timeout > 15*time.Minute:
		return usagef("--timeout %v is out of range (1s-15m)", o.timeout)
	case o.ephemeral < 512 || o.ephemeral > 10240:
		return usagef("--ephemeral-storage %d is out of range (512-10240)", o.ephemeral)
	}
	var otel *string
	if o.otelSet {
		if o.otel != "" {
			if u, err := url.Parse(o.otel); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usagef("--otel-endpoint: %q is not an http or https URL, such as https://collector.example.com:4318", o.otel)
			}
		}
		otel = &o.otel
	}
	arch, err := lambda.ParseArch(o.arch)
	if err != nil {
		return usagef("--arch: %v", err)
	}
	zipArch, err := deploy.ZipArch(o.zip)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !cmd.Flags().Changed("zip"):
		return fmt.Errorf("no %s here: make it with chunkcode lambda package, or give --zip", o.zip)
	case err != nil:
		return err
	case arch == "":
		arch = zipArch
	case arch != zipArch:
		return usagef("--arch %s: %s holds an %s bootstrap", o.arch, o.zip, zipArch)
	}
	cfg, err := d.awsConfig(cmd.Context(), o.region)
	if err != nil {
		return err
	}
	arn, created, err := deploy.Function(cmd.Context(), cfg, deploy.Options{
		Function: o.function, Zip: o.zip, Role: o.role, MemoryMB: int32(o.memory), Timeout: o.timeout,
		EphemeralMB: int32(o.ephemeral), Layers: o.layers, Arch: arch, CodeBucket: o.bucket, OTelEndpoint: otel,
	})
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(d.stderr, "%s %s\n", verb, arn)
	return nil
}
