package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEUsage checks that the help text README.md shows is the help the
// binary prints, so the two cannot drift apart.
func TestREADMEUsage(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, args := range [][]string{{"--help"}, {"transcode", "--help"}} {
		r := chunkcode(t, nil, args...)
		require.Equal(t, 0, r.code, r.stderr)
		block := "$ chunkcode " + strings.Join(args, " ") + "\n" + r.stdout
		assert.True(t, strings.Contains(string(readme), block),
			"README.md shows an outdated `chunkcode %s`; paste the binary's output:\n%s", strings.Join(args, " "), r.stdout)
	}
}
