package benchmarks

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// SSIM returns the mean structural similarity of the video of path against
// that of reference, with path's pictures scaled to reference's size: 1 is
// identical, and values above about 0.98 are hard to tell apart.
func SSIM(ctx context.Context, r ffmpeg.Runner, path, reference string) (float64, error) {
	dir, err := os.MkdirTemp("", "chunkcode-ssim-")
	if err != nil {
		return 0, fmt.Errorf("create ssim directory: %w", err)
	}
	defer os.RemoveAll(dir)
	stats := filepath.Join(dir, "ssim.log")
	// Both start at 0, so that frames pair up by their place in the video
	// even when one output keeps the source's start time and the other
	// does not.
	filter := fmt.Sprintf("[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]scale2ref=flags=bicubic[main][ref];[main][ref]ssim=stats_file='%s'", escapeQuoted(stats))
	args := []string{"-i", path, "-i", reference, "-lavfi", filter, "-an", "-sn", "-dn", "-f", "null", "-"}
	if err := r.Run(ctx, args, nil); err != nil {
		return 0, fmt.Errorf("compare %s with %s: %w", path, reference, err)
	}
	return readSSIM(stats)
}

// escapeQuoted escapes s for a single-quoted filter option value.
func escapeQuoted(s string) string { return strings.ReplaceAll(s, `'`, `'\''`) }

// readSSIM averages the All column of the ssim filter's per-frame stats:
// "n:1 Y:0.990 U:0.991 V:0.992 All:0.991 (20.4)".
func readSSIM(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read ssim stats: %w", err)
	}
	defer f.Close()
	var sum float64
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, field := range strings.Fields(sc.Text()) {
			if v, ok := strings.CutPrefix(field, "All:"); ok {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, fmt.Errorf("read ssim stats: %q: %w", sc.Text(), err)
				}
				sum += x
				n++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read ssim stats: %w", err)
	}
	if n == 0 {
		return 0, fmt.Errorf("read ssim stats: no frames compared")
	}
	return sum / float64(n), nil
}
