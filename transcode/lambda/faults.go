//go:build chunkcode_faults

// Faults for the end-to-end tests, which lambdatest.Chunkcode builds the
// function with; the production binary has none of this code.

package lambda

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// faultFromEnv returns EnvTestFault: a comma-separated list of failures to
// inject. "error" fails every invocation; "error-once" fails the first one;
// "hang-once" makes the first one sleep past any timeout, ignoring its
// deadline; "crash-once" exits the process. "Once" is tracked by a marker
// file in the handler's TempDir, so it holds across restarts of the function
// process.
func faultFromEnv() string { return os.Getenv(EnvTestFault) }

// injectFault fails the invocation as h.fault asks.
func (h *Handler) injectFault() error {
	for _, f := range strings.Split(h.fault, ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case "error":
			return &FunctionError{Kind: KindFault, Message: "injected error (" + EnvTestFault + "=error)"}
		case "error-once":
			if h.firstTime(f) {
				return &FunctionError{Kind: KindFault, Message: "injected error (" + EnvTestFault + "=error-once)"}
			}
		case "hang-once":
			if h.firstTime(f) {
				time.Sleep(time.Hour)
			}
		case "crash-once":
			if h.firstTime(f) {
				os.Exit(3)
			}
		default:
			return &FunctionError{Kind: KindInvalid, Message: fmt.Sprintf("unknown %s %q", EnvTestFault, f)}
		}
	}
	return nil
}

// firstTime reports whether fault name has not fired yet in this TempDir.
func (h *Handler) firstTime(name string) bool {
	dir := h.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.OpenFile(filepath.Join(dir, "chunkcode-fault-"+name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
