package benchmarks

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommittedReports reads every report committed in docs/bench, which
// BENCHMARKS.md quotes, as today's chunkcode would. A report an older
// chunkcode made (another schema, a field that no longer exists, a run that
// failed) fails here: regenerate it with scripts/bench-docs.sh.
func TestCommittedReports(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "docs", "bench", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no committed reports in docs/bench")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var rep Report
			require.NoError(t, dec.Decode(&rep), "%s: not a report of schema %d", path, ReportSchema)
			require.Equal(t, ReportSchema, rep.Schema,
				"%s was made by an older chunkcode; regenerate it with scripts/bench-docs.sh", path)
			assert.NotEmpty(t, rep.Runs, "no measured runs")
			assert.Zero(t, rep.Failures(), "a measured run failed")
			for _, s := range rep.Skipped {
				// A backend that was not asked for is not skipped; one
				// that was asked for and could not run is a broken report.
				assert.Failf(t, "skipped backend", "%s: %s", s.Backend, s.Reason)
			}
			assert.NotEmpty(t, rep.Machine.FFmpeg, "no ffmpeg version")
		})
	}
}
