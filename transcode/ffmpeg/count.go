package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chunkcode/chunkcode/transcode/media"
)

// CountFrames returns how many packets the first video stream of path has,
// which for the codecs chunkcode writes is the number of frames. It reads
// packets without decoding them.
func (r Runner) CountFrames(ctx context.Context, path string) (int, error) {
	out, err := r.Output(ctx, []string{"-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path})
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return 0, &media.Error{Path: path, Err: media.ErrNotMedia, Detail: probeDetail(ee.Stderr, path)}
		}
		return 0, err
	}
	s := strings.TrimSpace(strings.Split(string(out), "\n")[0])
	s = strings.TrimSuffix(s, ",")
	if s == "" {
		return 0, &media.Error{Path: path, Err: media.ErrNoVideo}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("count frames of %s: unexpected ffprobe output %q", path, s)
	}
	return n, nil
}

// Version returns the first line of ffmpeg -version, such as
// "ffmpeg version 5.1.6-0+deb12u1".
func (r Runner) Version(ctx context.Context) (string, error) {
	var b strings.Builder
	_, err := r.run(ctx, r.ffmpeg(), []string{"-hide_banner", "-version"}, &b)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(b.String(), "\n")
	line, _, _ = strings.Cut(line, " Copyright")
	return line, nil
}
