package transcode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// AudioTolerance is how far an output audio track's duration may be from the
// source's.
const AudioTolerance = 0.050

// checkOutput probes the merged file at path, which becomes the output
// name, with runner and checks it against the source: the same number of
// video frames, the same number of audio and subtitle tracks, and every
// audio track as long as the source's.
func checkOutput(ctx context.Context, runner ffmpeg.Runner, src *media.Media, path, name string) error {
	out, err := runner.ProbeURL(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: verify: %w", name, err)
	}
	if got, want := len(out.Frames), len(src.Frames); got != want {
		return fmt.Errorf("%s: %w: %d video frames, source has %d", name, ErrVerify, got, want)
	}
	if got, want := len(out.StreamsOf(media.Subtitle)), len(src.StreamsOf(media.Subtitle)); got != want {
		return fmt.Errorf("%s: %w: %d subtitle tracks, source has %d", name, ErrVerify, got, want)
	}
	if out.Chapters != src.Chapters {
		return fmt.Errorf("%s: %w: %d chapters, source has %d", name, ErrVerify, out.Chapters, src.Chapters)
	}
	if err := audioMatches(src, out); err != nil {
		return fmt.Errorf("%s: %w: %v", name, ErrVerify, err)
	}
	for _, typ := range []media.StreamType{media.Audio, media.Subtitle} {
		a, b := src.StreamsOf(typ), out.StreamsOf(typ)
		for i := range a {
			if want := language(a[i]); want != "" && want != language(b[i]) {
				return fmt.Errorf("%s: %w: %s track %d has language %q, source %q", name, ErrVerify, typ, i, b[i].Language, a[i].Language)
			}
		}
	}
	return nil
}

// language returns s's language tag, "" for none. "und" (undetermined) is
// none too: MP4 writes it for an untagged track and Matroska leaves it out.
func language(s *media.Stream) string {
	if s.Language == "und" {
		return ""
	}
	return s.Language
}

func audioMatches(src, out *media.Media) error {
	a, b := src.StreamsOf(media.Audio), out.StreamsOf(media.Audio)
	if len(a) != len(b) {
		return fmt.Errorf("%d audio tracks, source has %d", len(b), len(a))
	}
	for i := range a {
		if d := math.Abs(a[i].Duration() - b[i].Duration()); d > AudioTolerance {
			return fmt.Errorf("audio track %d lasts %.3fs, source %.3fs", i, b[i].Duration(), a[i].Duration())
		}
	}
	return nil
}

// checkStreams fails early, naming the input, when the output container
// cannot hold one of the source's streams.
func checkStreams(src *media.Media, c media.Container) error {
	for _, s := range src.StreamsOf(media.Subtitle) {
		if _, err := c.SubtitleCodec(s.Codec); err != nil {
			return fmt.Errorf("%s: stream %d: %w; use .mkv", src.Path, s.Index, err)
		}
	}
	return nil
}

// checkPaths refuses an output that is the input under any spelling, and an
// output in a directory that does not exist. A remote input, which a
// SourceReader reads, is not a local file.
func checkPaths(in, out string, remote bool) error {
	var inInfo os.FileInfo
	if !remote {
		var err error
		if inInfo, err = os.Stat(in); err != nil {
			return &media.Error{Path: in, Err: unwrapPathError(err)}
		}
	}
	if outInfo, err := os.Stat(out); err == nil {
		if inInfo != nil && os.SameFile(inInfo, outInfo) {
			return fmt.Errorf("%s: %w %s; choose another output", out, ErrSameFile, in)
		}
		if outInfo.IsDir() {
			return fmt.Errorf("%s: is a directory", out)
		}
	}
	dir := filepath.Dir(out)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: output directory %s does not exist", out, dir)
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
