package main

import (
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/spf13/cobra"
)

// completeFlagValues makes the shell complete the values of cmd's flags
// that take a name from a fixed list: --codec, --preset (for the codec
// chosen), --audio-codec, --backend and --lambda-arch, those cmd has.
func completeFlagValues(cmd *cobra.Command) {
	values := map[string][]string{
		"codec":       names(media.Codecs),
		"audio-codec": append(names(media.AudioCodecs), string(media.AudioCopy)),
		"backend":     {string(transcode.LocalBackend), string(transcode.LambdaBackend)},
		"lambda-arch": {string(lambda.ARM64), string(lambda.X86_64)},
	}
	for flag, vs := range values {
		if cmd.Flags().Lookup(flag) != nil {
			cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(vs, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if cmd.Flags().Lookup("preset") != nil {
		cmd.RegisterFlagCompletionFunc("preset", completePreset)
	}
}

// completePreset completes the presets of the codec --codec names or, with
// none, of the default codec for OUTPUT, the second operand.
func completePreset(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	name, _ := cmd.Flags().GetString("codec")
	codec, err := media.ParseCodec(name)
	if err != nil {
		var c media.Container
		if len(args) >= 2 {
			c, _ = media.ContainerFor(args[1])
		}
		codec = transcode.Profile{}.WithDefaults(c).Codec
	}
	return codec.Presets(), cobra.ShellCompDirectiveNoFileComp
}

// names returns the values of a list of named constants as strings.
func names[S ~string](list []S) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}
