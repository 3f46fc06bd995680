package browsertest

import (
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/chunkcode/chunkcode/internal/fixture"
)

var ssimAll = regexp.MustCompile(`SSIM .* All:([0-9.]+)`)

// SSIM returns the structural similarity (0 to 1, ffmpeg's ssim filter,
// "All") of the pictures in the image files got and want, after scaling
// want to got's size. It fails the test when ffmpeg does.
func SSIM(t testing.TB, got, want string) float64 {
	t.Helper()
	fixture.RequireFFmpeg(t)
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-i", got, "-i", want,
		"-lavfi", "[1:v][0:v]scale2ref=flags=bicubic[want][got];[got]format=yuv444p[g];[want]format=yuv444p[w];[g][w]ssim",
		"-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg ssim %s %s: %v\n%s", got, want, err, stderr.String())
	}
	m := ssimAll.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("ffmpeg ssim %s %s: no SSIM line in\n%s", got, want, stderr.String())
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("ffmpeg ssim: %q: %v", m[1], err)
	}
	return v
}
