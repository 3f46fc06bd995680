package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chunkcode/chunkcode/internal/atomicfile"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// SeedVideo is one video of the original serverless transcoder's results
// table, described by its shape: the bench generates a synthetic video of
// the same resolution, duration and container.
type SeedVideo struct {
	Width, Height int
	Duration      time.Duration
	Ext           string // ".mp4" or ".mkv"
	Rate          int    // frames per second
}

// Name describes v as the original table did, such as "1920×1080 0:43 MP4".
func (v SeedVideo) Name() string {
	s := int(v.Duration.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d×%d %d:%02d %s", v.Width, v.Height, s/60, s%60, map[string]string{".mp4": "MP4", ".mkv": "MKV"}[v.Ext])
}

// Seed is the profile `--profile seed` generates: the six videos of the
// original table.
var Seed = []SeedVideo{
	{1920, 1080, 43 * time.Second, ".mp4", 30},
	{2048, 1152, 6*time.Minute + 49*time.Second, ".mp4", 30},
	{1280, 720, 59*time.Minute + 56*time.Second, ".mp4", 30},
	{2560, 1440, 7*time.Minute + 45*time.Second, ".mp4", 30},
	{3840, 1606, 1*time.Minute + 2*time.Second, ".mkv", 24},
	{1280, 718, 57*time.Minute + 57*time.Second, ".mkv", 24},
}

// MinSeedDuration is the shortest a scaled seed video is made.
const MinSeedDuration = time.Second

// GenerateSeed makes the seed videos, their durations multiplied by scale
// (at least MinSeedDuration), in dir and returns them as inputs. A video
// already in dir is reused, so dir works as a cache: file names hold the
// shape and the scale. Each is a test pattern drawn at half size and scaled
// up, which is quick to make even at 4K, with a keyframe every two seconds
// and a stereo AAC tone, encoded with libx264 ultrafast.
func GenerateSeed(ctx context.Context, r ffmpeg.Runner, dir string, scale float64) ([]Input, error) {
	if scale <= 0 || scale > 1 {
		return nil, fmt.Errorf("seed scale %v is out of range (0 to 1)", scale)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create seed directory: %w", err)
	}
	var inputs []Input
	for _, v := range Seed {
		d := max(time.Duration(float64(v.Duration)*scale).Round(time.Millisecond), MinSeedDuration)
		name := fmt.Sprintf("seed-%dx%d-%s-x%s%s", v.Width, v.Height, v.Duration, strconv.FormatFloat(scale, 'f', -1, 64), v.Ext)
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := generate(ctx, r, v, d, path); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, fmt.Errorf("generate seed video: %w", err)
		}
		label := v.Name()
		if scale != 1 {
			label += fmt.Sprintf(" (%s)", shortDuration(d))
		}
		inputs = append(inputs, Input{Name: label, Path: path})
	}
	return inputs, nil
}

// generate writes one seed video to a temporary file beside path and
// renames it into place.
func generate(ctx context.Context, r ffmpeg.Runner, v SeedVideo, d time.Duration, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".seed-*"+v.Ext)
	if err != nil {
		return fmt.Errorf("generate seed video: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", v.Width/2, v.Height/2, v.Rate)
	args := []string{
		"-f", "lavfi", "-i", src,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", secs,
		"-vf", fmt.Sprintf("scale=%d:%d:flags=bicubic,format=yuv420p", v.Width, v.Height),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", strconv.Itoa(2 * v.Rate),
		"-af", "pan=stereo|c0=c0|c1=c0", "-c:a", "aac", "-b:a", "128k",
		"-y", tmp,
	}
	if err := r.Run(ctx, args, nil); err != nil {
		return fmt.Errorf("generate seed video %s: %w", v.Name(), err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("generate seed video: %w", err)
	}
	if err := atomicfile.Rename(tmp, path); err != nil {
		return fmt.Errorf("generate seed video: %w", err)
	}
	return nil
}

// shortDuration formats d as "0:43" or "1.2s" for durations under a minute
// with a fraction.
func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
	}
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
