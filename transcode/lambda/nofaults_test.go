//go:build !chunkcode_faults

package lambda

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDefaultBuildIgnoresFaults checks that a build without -tags
// chunkcode_faults, the production binary, injects no fault whatever the
// environment says.
func TestDefaultBuildIgnoresFaults(t *testing.T) {
	t.Setenv(EnvTestFault, "crash-once,hang-once,error")
	h := NewHandler()
	assert.Empty(t, h.fault)
	h.fault = "crash-once,hang-once,error"
	assert.NoError(t, h.injectFault())
}
