package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// newRootCommand returns the chunkcode command with all its subcommands,
// which take what they use from outside from d.
func newRootCommand(d *deps) *cobra.Command {
	var showVersion bool
	root := &cobra.Command{
		Use:   "chunkcode",
		Short: "Transcode video faster by encoding segments in parallel",
		Long: `chunkcode transcodes a video by splitting it into segments, encoding them in
parallel (on this machine or on AWS Lambda) and joining them into one file
with the same frames, audio, subtitles, chapters and metadata as the source.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          unknownCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				return printVersion(cmd.Context(), d)
			}
			return cmd.Help()
		},
	}
	// --version prints what the version command prints; cobra's own
	// --version would print only chunkcode's version.
	root.Flags().BoolVarP(&showVersion, "version", "v", false, "print the chunkcode and ffmpeg versions")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newTranscodeCommand(d, nil),
		newProbeCommand(d, nil),
		newVersionCommand(d),
		newLambdaCommand(d),
		newBenchCommand(d, nil),
	)
	return root
}
