package merger

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// concatEntry is one file of a concat list.
type concatEntry struct {
	file   string
	micros int64
}

func readConcatList(t *testing.T, path string) []concatEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Equal(t, "ffconcat version 1.0", lines[0])
	var out []concatEntry
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "file "):
			out = append(out, concatEntry{file: strings.TrimPrefix(l, "file ")})
		case strings.HasPrefix(l, "duration "):
			sec, frac, ok := strings.Cut(strings.TrimPrefix(l, "duration "), ".")
			require.True(t, ok, "duration %q has six decimals", l)
			require.Len(t, frac, 6, "duration %q has six decimals", l)
			s, err1 := strconv.ParseInt(sec, 10, 64)
			f, err2 := strconv.ParseInt(frac, 10, 64)
			require.NoError(t, errors.Join(err1, err2))
			out[len(out)-1].micros = s*1_000_000 + f
		default:
			t.Fatalf("unexpected concat line %q", l)
		}
	}
	return out
}

func TestWriteConcatList(t *testing.T) {
	tests := []struct {
		name      string
		durations []float64
		want      []int64 // microseconds of each entry
	}{
		{"exact durations", []float64{2, 2, 1.5}, []int64{2_000_000, 2_000_000, 1_500_000}},
		{"rounding does not accumulate", []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, []int64{333_333, 333_334, 333_333}},
		{"NTSC frames", []float64{1001.0 / 30000, 1001.0 / 30000, 1001.0 / 30000}, []int64{33_367, 33_366, 33_367}},
		{"long segments", []float64{300.02, 299.98}, []int64{300_020_000, 299_980_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pieces := make([]Piece, len(tt.durations))
			var total float64
			for i, d := range tt.durations {
				pieces[i] = Piece{Path: filepath.Join(dir, "seg-"+strconv.Itoa(i)+".mp4"), Duration: d}
				total += d
			}
			path, err := writeConcatList(dir, pieces)
			require.NoError(t, err)
			entries := readConcatList(t, path)
			require.Len(t, entries, len(pieces))
			var sum int64
			for i, e := range entries {
				assert.Equal(t, "'"+pieces[i].Path+"'", e.file, "entry %d names its segment by absolute path", i)
				sum += e.micros
			}
			got := make([]int64, len(entries))
			for i, e := range entries {
				got[i] = e.micros
			}
			assert.Equal(t, tt.want, got)
			assert.InDelta(t, total*1e6, float64(sum), 0.5, "the durations add up to the total, rounded once")
		})
	}

	t.Run("quotes and relative paths", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		path, err := writeConcatList(dir, []Piece{{Path: "it's.mp4", Duration: 1}})
		require.NoError(t, err)
		entries := readConcatList(t, path)
		require.Len(t, entries, 1)
		want := "'" + strings.ReplaceAll(filepath.Join(dir, "it's.mp4"), "'", `'\''`) + "'"
		assert.Equal(t, want, entries[0].file)
	})

	t.Run("a name with a line break is refused", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"a\nfile /etc/passwd\n.mp4", "a\r.mp4"} {
			_, err := writeConcatList(dir, []Piece{{Path: filepath.Join(dir, name), Duration: 1}})
			assert.ErrorContains(t, err, "line break")
		}
		assert.NoFileExists(t, filepath.Join(dir, "concat.txt"))
	})
}
