package main

import (
	"fmt"
	"runtime"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/spf13/cobra"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the chunkcode and ffmpeg versions",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "chunkcode %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			v, err := ffmpeg.Runner{}.Version(cmd.Context())
			if err != nil {
				v = "ffmpeg not found"
			}
			fmt.Fprintln(cmd.OutOrStdout(), v)
			return nil
		},
	}
}
