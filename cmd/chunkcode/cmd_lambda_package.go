package main

import (
	"fmt"
	"io"
	"os"

	"github.com/chunkcode/chunkcode/internal/atomicfile"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/deploy"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type lambdaPackageOptions struct {
	arch      string
	ffmpeg    string
	output    string
	source    string
	bootstrap string
}

func (o *lambdaPackageOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.arch, "arch", "arm64", "function architecture: arm64 or amd64")
	f.StringVar(&o.ffmpeg, "ffmpeg", "", "static Linux ffmpeg to bundle as bin/ffmpeg (with the ffprobe beside it); default none: use a layer at /opt/bin")
	f.StringVarP(&o.output, "output", "o", "function.zip", "zip file to write")
	f.StringVar(&o.source, "source", ".", "chunkcode source tree to build the bootstrap from")
	f.StringVar(&o.bootstrap, "bootstrap", "", "use this Linux chunkcode binary instead of building one")
}

// newLambdaPackageCommand returns the lambda package command. It runs runF
// with the parsed options instead of packaging when runF is not nil.
func newLambdaPackageCommand(d *deps, runF func(*lambdaPackageOptions) error) *cobra.Command {
	o := &lambdaPackageOptions{}
	cmd := &cobra.Command{
		Use:   "package",
		Short: "Build the function's deployment zip",
		Long: `Build the deployment zip: chunkcode built for Linux with -tags ` + deploy.BuildTags + `,
named bootstrap for the provided.al2023 runtime, and optionally a static
ffmpeg under bin/. Building needs the Go toolchain and the chunkcode source.`,
		Example: `  chunkcode lambda package -o function.zip
  chunkcode lambda package --arch amd64 --ffmpeg ./ffmpeg-static/ffmpeg -o function.zip`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return runLambdaPackage(cmd, d, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runLambdaPackage(cmd *cobra.Command, d *deps, o *lambdaPackageOptions) error {
	arch, err := lambda.ParseArch(o.arch)
	if err != nil {
		return usagef("--arch: %v", err)
	}
	bootstrap := o.bootstrap
	if bootstrap == "" {
		dir, err := os.MkdirTemp("", "chunkcode-package-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if bootstrap, err = deploy.BuildBootstrap(cmd.Context(), o.source, arch, dir); err != nil {
			return err
		}
	}
	files := deploy.PackageFiles(bootstrap, o.ffmpeg)
	err = atomicfile.WriteFile(o.output, 0o600, func(w io.Writer) error { return deploy.WriteZip(w, files) })
	if err != nil {
		return fmt.Errorf("write %s: %w", o.output, err)
	}
	fi, _ := os.Stat(o.output)
	fmt.Fprintf(d.stderr, "%s: %s function package, %.1f MB\n", o.output, arch.GoArch(), float64(fi.Size())/1e6)
	return nil
}
