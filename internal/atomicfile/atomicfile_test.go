package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/internal/atomicfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFile(t *testing.T) {
	t.Parallel()
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	t.Run("new file gets perm", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "chart.svg")
		require.NoError(t, atomicfile.WriteFile(path, 0o640, write("new")))
		assertFile(t, path, "new", 0o640)
	})
	t.Run("replaced file keeps its mode", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "chart.svg")
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o604))
		require.NoError(t, os.Chmod(path, 0o604))
		require.NoError(t, atomicfile.WriteFile(path, 0o600, write("new")))
		assertFile(t, path, "new", 0o604)
	})
	t.Run("failed write leaves the old file and no temporary", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "function.zip")
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
		boom := errors.New("boom")
		err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
			io.WriteString(w, "partial")
			return boom
		})
		assert.ErrorIs(t, err, boom)
		assertFile(t, path, "old", 0o644)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "only %s", path)
	})
	t.Run("missing directory", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "no", "chart.svg")
		assert.Error(t, atomicfile.WriteFile(path, 0o644, write("new")))
		assert.NoFileExists(t, path)
	})
}

func assertFile(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, content, string(b))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, perm, fi.Mode().Perm())
}
