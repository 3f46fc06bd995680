package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

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
	f.StringVar(&o.arch, "arch", "arm64", "function architecture: arm64 or x86_64 (amd64)")
	f.StringVar(&o.ffmpeg, "ffmpeg", "", "static Linux ffmpeg to bundle as bin/ffmpeg (with the ffprobe beside it); default none: use a layer at /opt/bin")
	f.StringVarP(&o.output, "output", "o", "function.zip", "zip file to write")
	f.StringVar(&o.source, "source", "", "build the bootstrap from this chunkcode source tree")
	f.StringVar(&o.bootstrap, "bootstrap", "", "package this Linux chunkcode binary as the bootstrap, as it is")
}

// newLambdaPackageCommand returns the lambda package command. It runs runF
// with the parsed options instead of packaging when runF is not nil.
func newLambdaPackageCommand(d *deps, runF func(*lambdaPackageOptions) error) *cobra.Command {
	o := &lambdaPackageOptions{}
	cmd := &cobra.Command{
		Use:   "package",
		Short: "Build the function's deployment zip",
		Long: `Build the deployment zip: chunkcode for Linux, named bootstrap for the
provided.al2023 runtime, and optionally a static ffmpeg under bin/.

The bootstrap is, without --bootstrap or --source, the first of:
  - this binary itself, when it is a static (CGO_ENABLED=0) linux build for
    --arch without the test faults;
  - a build of the current directory, when it is the chunkcode source tree
    (GOOS=linux CGO_ENABLED=0 -tags ` + deploy.BuildTags + ` -trimpath);
  - chunkcode at this binary's version, downloaded and built the same way by
    the go command, when it was installed with go install …@VERSION.
Otherwise give --source or --bootstrap.`,
		Example: `  chunkcode lambda package -o function.zip
  chunkcode lambda package --arch x86_64 --ffmpeg ./ffmpeg-static/ffmpeg -o function.zip
  chunkcode lambda package --source ~/src/chunkcode -o function.zip`,
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
	if o.bootstrap != "" && o.source != "" {
		return usagef("--bootstrap and --source: give one, a binary to package or the source to build one from")
	}
	dir, err := os.MkdirTemp("", "chunkcode-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bootstrap, from, err := functionBinary(cmd.Context(), d, o, arch, dir)
	if err != nil {
		return err
	}
	files := deploy.PackageFiles(bootstrap, o.ffmpeg)
	err = atomicfile.WriteFile(o.output, 0o600, func(w io.Writer) error { return deploy.WriteZip(w, files) })
	if err != nil {
		return fmt.Errorf("write %s: %w", o.output, err)
	}
	fi, _ := os.Stat(o.output)
	fmt.Fprintf(d.stderr, "%s: %s function package, %.1f MB (bootstrap: %s)\n", o.output, arch, float64(fi.Size())/1e6, from)
	return nil
}

// functionBinary returns the bootstrap to package for arch, building it into
// dir if need be, and what it is for the user: --bootstrap, a build of
// --source, this binary, a build of the current directory when it is the
// source tree, or a build of this binary's module version, in that order.
// It says on d.stderr which build it starts when the user did not ask for
// one.
func functionBinary(ctx context.Context, d *deps, o *lambdaPackageOptions, arch lambda.Arch, dir string) (path, from string, err error) {
	switch {
	case o.bootstrap != "":
		return o.bootstrap, o.bootstrap, nil
	case o.source != "":
		path, err := deploy.BuildBootstrap(ctx, o.source, arch, dir)
		return path, "built from " + o.source, err
	}
	self, err := os.Executable()
	if err == nil {
		if err = deploy.CheckBinary(self, arch); err == nil {
			return self, "this binary", nil
		}
	}
	unfit := err.Error()
	var version string
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = deploy.ModuleVersion(bi)
	}
	_, noGo := deploy.GoTool()
	switch {
	case deploy.IsSource("."):
		// A build in a source tree records a version from its VCS, which
		// need not be published: build what is here.
		fmt.Fprintf(d.stderr, "%s: building the function from the chunkcode source tree in the current directory\n", unfit)
		path, err := deploy.BuildBootstrap(ctx, ".", arch, dir)
		return path, "built from the current directory", err
	case version != "" && noGo == nil:
		fmt.Fprintf(d.stderr, "%s: building chunkcode %s for linux/%s with go\n", unfit, version, arch.GoArch())
		path, err := deploy.BuildModule(ctx, version, arch, dir)
		if err != nil {
			return "", "", fmt.Errorf("%w (give --source with the chunkcode source tree at %s)", err, version)
		}
		return path, "chunkcode " + version + " built with go", nil
	case version != "":
		return "", "", usagef("%s, and building chunkcode %s for it needs go: give --source with the chunkcode source tree, or --bootstrap with a static linux/%s build", unfit, version, arch.GoArch())
	}
	return "", "", usagef("%s and has no published version to build one from: give --source with the chunkcode source tree, or --bootstrap with a static linux/%s build", unfit, arch.GoArch())
}
