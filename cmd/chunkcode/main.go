// Command chunkcode transcodes video faster by splitting it into segments,
// encoding them in parallel and joining them back into one file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	if handled, code := maybeLambdaHandler(ctx); handled {
		return code
	}
	d := newDeps()
	stdout := &countingWriter{w: d.stdout}
	d.stdout = stdout
	cmd, err := newRootCommand(d).ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	report(d.stderr, err, code)
	if stdout.n == 0 && cmd != nil && jsonRequested(cmd, os.Args[1:]) {
		// Nothing on stdout yet: the failure is the one JSON object there.
		writeJSONError(stdout, err, code)
	}
	return code
}

// report prints err on w in one line, then its usage hint and any warnings
// the failed run gave, one line each.
func report(w io.Writer, err error, code int) {
	fmt.Fprintln(w, "chunkcode: "+errorMessage(err, code))
	var ue *usageError
	if errors.As(err, &ue) && ue.hint != "" {
		fmt.Fprintln(w, ue.hint)
	}
	var we *warnedError
	if errors.As(err, &we) {
		for _, warning := range we.warnings {
			fmt.Fprintln(w, "chunkcode: warning: "+oneLine(warning.Error()))
		}
	}
}

// errorMessage is the one-line message of err, which ended chunkcode with
// code.
func errorMessage(err error, code int) string {
	if code == exitInterrupted {
		return "interrupted"
	}
	return oneLine(err.Error())
}

// jsonError is what --json prints on stdout when chunkcode fails.
type jsonError struct {
	Error string `json:"error"`
	// Kind is "usage" (exit code 2), "input" (a problem with an input
	// file), "interrupted" (130) or "failure".
	Kind     string `json:"kind"`
	ExitCode int    `json:"exit_code"`
}

func writeJSONError(w io.Writer, err error, code int) {
	kind := "failure"
	var me *media.Error
	switch {
	case code == exitUsage:
		kind = "usage"
	case code == exitInterrupted:
		kind = "interrupted"
	case errors.As(err, &me):
		kind = "input"
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(jsonError{Error: errorMessage(err, code), Kind: kind, ExitCode: code})
}

// jsonRequested reports whether cmd was asked for --json: by its parsed
// flag or, when parsing stopped before it, by args up to "--".
func jsonRequested(cmd *cobra.Command, args []string) bool {
	f := cmd.Flags().Lookup("json")
	if f == nil {
		return false
	}
	if f.Changed {
		return f.Value.String() == "true"
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func exitCode(ctx context.Context, err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return exitInterrupted
	case strings.HasPrefix(err.Error(), "unknown command "):
		// cobra reports an unknown subcommand with a plain error.
		return exitUsage
	}
	return exitFailure
}

// usageError marks a mistake in how chunkcode was called. A hint, such as
// an example, is printed on the line after the error.
type usageError struct {
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{err: fmt.Errorf(format, args...)} }

// exitError carries a specific exit code, already reported.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// warnedError is a failed run's error with the warnings the run gave,
// which are printed after it.
type warnedError struct {
	err      error
	warnings []error
}

func (e *warnedError) Error() string { return e.err.Error() }
func (e *warnedError) Unwrap() error { return e.err }

// plural returns "1 noun" or "n nouns".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, " | ")
}
