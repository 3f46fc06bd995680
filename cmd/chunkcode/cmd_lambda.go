package main

import "github.com/spf13/cobra"

// newLambdaCommand returns the lambda command and its subcommands.
func newLambdaCommand(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lambda",
		Short: "Package and deploy chunkcode as an AWS Lambda function",
		Long: `The Lambda function that --backend lambda invokes is this same binary, named
bootstrap, on the provided.al2023 runtime. "lambda package" builds its zip and
"lambda deploy" creates or updates the function.

When AWS_LAMBDA_RUNTIME_API is set, as Lambda and the emulator set it,
chunkcode serves as the function handler instead of running a command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newLambdaPackageCommand(d, nil), newLambdaDeployCommand(d, nil))
	return cmd
}
