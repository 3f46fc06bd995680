package main

import (
	"fmt"
	"os"
	"path/filepath"

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

func newLambdaPackageCommand() *cobra.Command {
	var o lambdaPackageOptions
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
			return runLambdaPackage(cmd, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runLambdaPackage(cmd *cobra.Command, o lambdaPackageOptions) error {
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
	tmp, err := os.CreateTemp(filepath.Dir(o.output), "."+filepath.Base(o.output)+".*")
	if err != nil {
		return fmt.Errorf("create %s: %w", o.output, err)
	}
	defer os.Remove(tmp.Name())
	err = deploy.WriteZip(tmp, deploy.PackageFiles(bootstrap, o.ffmpeg))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", o.output, err)
	}
	if err := os.Rename(tmp.Name(), o.output); err != nil {
		return fmt.Errorf("write %s: %w", o.output, err)
	}
	fi, _ := os.Stat(o.output)
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s function package, %.1f MB\n", o.output, arch.GoArch(), float64(fi.Size())/1e6)
	return nil
}
