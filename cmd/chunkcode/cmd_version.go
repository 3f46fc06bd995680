package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// newVersionCommand returns the version command.
func newVersionCommand(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the chunkcode and ffmpeg versions",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printVersion(cmd.Context(), d)
		},
	}
}

// printVersion prints the chunkcode and ffmpeg versions, for the version
// command and --version.
func printVersion(ctx context.Context, d *deps) error {
	fmt.Fprintf(d.stdout, "chunkcode %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	v, err := d.runner.Version(ctx)
	if err != nil {
		v = "ffmpeg not found"
	}
	fmt.Fprintln(d.stdout, v)
	return nil
}
