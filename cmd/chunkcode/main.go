// Command chunkcode transcodes video faster by splitting it into segments,
// encoding them in parallel and joining them back into one file.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	err := newRootCommand(d).ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	if code == exitInterrupted {
		fmt.Fprintln(d.stderr, "chunkcode: interrupted")
	} else {
		fmt.Fprintln(d.stderr, "chunkcode: "+oneLine(err.Error()))
	}
	return code
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

// usageError marks a mistake in how chunkcode was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// exitError carries a specific exit code, already reported.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, " | ")
}
