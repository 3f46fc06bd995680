//go:build !chunkcode_faults

package lambda

// faultFromEnv ignores EnvTestFault: only a build with -tags
// chunkcode_faults injects faults (see faults.go).
func faultFromEnv() string { return "" }

// injectFault injects nothing.
func (h *Handler) injectFault() error { return nil }
