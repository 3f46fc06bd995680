package lambda

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseArch checks that both spellings of each architecture parse, to
// AWS's, and give Go's.
func TestParseArch(t *testing.T) {
	for in, want := range map[string]string{"": "arm64", "arm64": "arm64", "aarch64": "arm64", "amd64": "amd64", "x86_64": "amd64"} {
		a, err := ParseArch(in)
		require.NoError(t, err)
		assert.Equal(t, want, a.GoArch(), in)
	}
	for in, want := range map[string]Arch{"": "", "arm64": ARM64, "aarch64": ARM64, "amd64": X86_64, "x86_64": X86_64} {
		a, err := ParseArch(in)
		require.NoError(t, err)
		assert.Equal(t, want, a, in)
	}
	_, err := ParseArch("386")
	assert.Error(t, err)
}
