// Package merger joins encoded video segments with a stream copy and muxes
// them with the audio and with everything else the source carries:
// subtitles, attachments, chapters, global and per-stream metadata, and the
// display rotation.
package merger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// Piece is one encoded segment.
type Piece struct {
	Path string
	// Duration is the segment's span in the source, in seconds: the time
	// from its first frame to the next segment's first frame. The concat
	// step places the next segment exactly that far on, so variable frame
	// rate timing follows the source.
	Duration float64
}

// Spec says what to merge and where.
type Spec struct {
	// Source is the probed original: its file gives the subtitles,
	// attachments, chapters and metadata, unless Extras is set.
	Source *media.Media
	// Extras, when set, holds what would be read from Source's file, which
	// is then not opened: per-stream tags of streams Extras lacks (the video,
	// encoded audio) come from Source's probe.
	Extras *Extras
	Pieces []Piece
	// Audio is a file holding every audio track, already encoded, in the
	// source's order and timeline; "" with CopyAudio or when there is none.
	Audio string
	// AudioStart is where Audio's container starts, in seconds, as
	// StartTime reads it.
	AudioStart float64
	// CopyAudio maps the source's audio tracks unchanged.
	CopyAudio bool
	// Container is the output's container.
	Container media.Container
	// Rotation is the display rotation to set on the video, in degrees as
	// ffprobe reports it; 0 sets none.
	Rotation int
	// WorkDir holds the concat list.
	WorkDir string
	// Output is the file to write; it is overwritten.
	Output string
}

// Extras is a file holding what Merge reads from a source besides the
// video: the subtitles, attachments, chapters and global metadata, and the
// audio when it is copied. A backend that reads the source where it lies,
// such as Lambda for an s3:// source, writes it with ExtrasArgs, so the
// merge does not read the source.
type Extras struct {
	Path string
	// Start is where its container starts, in seconds, as StartTime reads
	// it.
	Start float64
}

// ExtrasArgs are the ffmpeg arguments that write the Extras of src to out,
// reading src.Path with inputOptions before it: a stream copy into
// Matroska, which holds any of those streams, with mov_text subtitles as
// SubRip, which Matroska holds. copyAudio includes the audio tracks. A
// source with none of those streams gets an ffmetadata file, which holds the
// chapters and global metadata alone.
func ExtrasArgs(src *media.Media, copyAudio bool, out string, inputOptions ...string) []string {
	args := append(slices.Clip(inputOptions), "-i", src.Path)
	streams := extrasStreams(src, copyAudio)
	for _, s := range streams {
		args = append(args, "-map", fmt.Sprintf("0:%d", s.Index))
	}
	args = append(args, "-c", "copy")
	for i, s := range src.StreamsOf(media.Subtitle) {
		if c := extrasCodec(s.Codec); c != s.Codec {
			args = append(args, fmt.Sprintf("-c:s:%d", i), c)
		}
	}
	format := "matroska"
	if len(streams) == 0 {
		format = "ffmetadata"
	}
	return append(args, "-map_metadata", "0", "-map_chapters", "0", "-f", format, "-y", out)
}

// extrasStreams are the streams of src that ExtrasArgs copies, in their
// order in the file it writes.
func extrasStreams(src *media.Media, copyAudio bool) []*media.Stream {
	var out []*media.Stream
	if copyAudio {
		out = append(out, src.StreamsOf(media.Audio)...)
	}
	out = append(out, src.StreamsOf(media.Subtitle)...)
	return append(out, src.StreamsOf(media.Attachment)...)
}

// extrasCodec is the codec a subtitle stream has in Extras.
func extrasCodec(codec string) string {
	if codec == "mov_text" {
		return "subrip"
	}
	return codec
}

// Merge writes spec.Output.
func Merge(ctx context.Context, r ffmpeg.Runner, spec Spec) error {
	args, err := mergeArgs(ctx, r, spec)
	if err != nil {
		return err
	}
	if err := r.Run(ctx, args, nil); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

func mergeArgs(ctx context.Context, r ffmpeg.Runner, spec Spec) ([]string, error) {
	src := spec.Source
	if src.Video == nil || len(src.Frames) == 0 {
		return nil, errors.New("merge: source has no video")
	}
	list, err := writeConcatList(spec.WorkDir, spec.Pieces)
	if err != nil {
		return nil, err
	}
	// The video starts where the source's first frame does, relative to
	// the container start that the audio and subtitles are timed from.
	offset := src.Video.TimeBase.Seconds(src.Frames[0].PTS) - src.Start
	var args []string
	if offset > 0 {
		args = append(args, "-itsoffset", strconv.FormatFloat(offset, 'f', 6, 64))
	}
	setRotation := spec.Rotation != 0 && spec.Container.Rotation
	useDisplayRotation := setRotation && r.HasOption(ctx, "display_rotation")
	if useDisplayRotation {
		args = append(args, "-display_rotation:v:0", strconv.Itoa(spec.Rotation))
	}
	args = append(args, "-f", "concat", "-safe", "0", "-i", list)
	srcIn := "1"
	if spec.Audio != "" {
		// ffmpeg moves every input to start at zero. The audio file keeps
		// the source's timeline less the container start, as the video
		// offset above does, so it goes back to where it starts: audio
		// that begins after the video stays in sync.
		if spec.AudioStart != 0 {
			args = append(args, "-itsoffset", strconv.FormatFloat(spec.AudioStart, 'f', 6, 64))
		}
		args = append(args, "-i", spec.Audio)
		srcIn = "2"
	}
	// index is where a stream of the source is in the input read for it:
	// the source, or Extras.
	index := func(s *media.Stream) int { return s.Index }
	if spec.Extras != nil {
		if spec.Extras.Start != 0 {
			args = append(args, "-itsoffset", strconv.FormatFloat(spec.Extras.Start, 'f', 6, 64))
		}
		args = append(args, "-i", spec.Extras.Path)
		inExtras := map[int]int{}
		for i, s := range extrasStreams(src, spec.CopyAudio) {
			inExtras[s.Index] = i
		}
		index = func(s *media.Stream) int { return inExtras[s.Index] }
	} else {
		args = append(args, "-i", src.Path)
	}
	from := func(s *media.Stream) string { return fmt.Sprintf("%s:%d", srcIn, index(s)) }
	meta := func(s *media.Stream) string { return fmt.Sprintf("%s:s:%d", srcIn, index(s)) }
	args = append(args, "-map", "0:v:0")
	audio := src.StreamsOf(media.Audio)
	switch {
	case spec.Audio != "":
		args = append(args, "-map", "1:a")
	case spec.CopyAudio:
		for _, a := range audio {
			args = append(args, "-map", from(a))
		}
	}
	args = append(args, "-c", "copy")
	for i, s := range src.StreamsOf(media.Subtitle) {
		codec := s.Codec
		if spec.Extras != nil {
			codec = extrasCodec(codec)
		}
		codec, err := spec.Container.SubtitleCodec(codec)
		if err != nil {
			return nil, fmt.Errorf("%s: stream %d: %w", src.Path, s.Index, err)
		}
		args = append(args, "-map", from(s), fmt.Sprintf("-c:s:%d", i), codec)
	}
	if spec.Container.Format == "matroska" {
		for _, s := range src.StreamsOf(media.Attachment) {
			args = append(args, "-map", from(s))
		}
	}
	// Naming one stream's metadata source turns off ffmpeg's default
	// per-stream copy for all of them, so every stream's tags (language,
	// title, handler) are mapped from its source stream explicitly, or set
	// from the probe for a stream Extras lacks.
	args = append(args, "-map_metadata", srcIn, "-map_chapters", srcIn)
	if spec.Extras == nil {
		args = append(args, "-map_metadata:s:v:0", meta(src.Video))
	} else {
		args = append(args, "-map_metadata:s:v:0", "-1")
		args = append(args, tagArgs("v:0", src.Video.Tags)...)
	}
	if spec.Audio != "" || spec.CopyAudio {
		for i, a := range audio {
			if spec.Extras != nil && !spec.CopyAudio {
				args = append(args, tagArgs(fmt.Sprintf("a:%d", i), a.Tags)...)
				continue
			}
			args = append(args, fmt.Sprintf("-map_metadata:s:a:%d", i), meta(a))
		}
	}
	for i, s := range src.StreamsOf(media.Subtitle) {
		args = append(args, fmt.Sprintf("-map_metadata:s:s:%d", i), meta(s))
	}
	if setRotation && !useDisplayRotation {
		// ffmpeg before display_rotation reads the old tag when muxing.
		args = append(args, "-metadata:s:v:0", "rotate="+strconv.Itoa((spec.Rotation%360+360)%360))
	}
	if spec.Container.Faststart {
		args = append(args, "-movflags", "+faststart")
	}
	args = append(args, "-f", spec.Container.Format, "-y", spec.Output)
	return args, nil
}

// tagArgs sets the tags of the output stream stream (such as "v:0") from
// a probe, as mapping them from the stream's file would, except the old
// rotate tag: Spec.Rotation sets the rotation.
func tagArgs(stream string, tags map[string]string) []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if k != "rotate" {
			args = append(args, "-metadata:s:"+stream, k+"="+tags[k])
		}
	}
	return args
}

// StartTime returns the start of path's container in seconds, which ffmpeg
// subtracts from its timestamps when it reads path as an input.
func StartTime(ctx context.Context, r ffmpeg.Runner, path string) (float64, error) {
	out, err := r.Output(ctx, []string{"-show_entries", "format=start_time", "-of", "csv=p=0", path})
	if err != nil {
		return 0, fmt.Errorf("merge: read start of %s: %w", filepath.Base(path), err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, nil // "N/A": no start time, nothing is moved
	}
	return v, nil
}

// writeConcatList writes the concat demuxer's list of pieces with their
// exact durations.
func writeConcatList(dir string, pieces []Piece) (string, error) {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	// Durations are rounded at their running total, so rounding never
	// accumulates over many segments.
	var total float64
	var prev int64
	for _, p := range pieces {
		total += p.Duration
		end := int64(math.Round(total * 1e6))
		abs, err := filepath.Abs(p.Path)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(abs, "\n\r") {
			// The list is line-based: a line break would start a
			// directive of the name's choosing.
			return "", fmt.Errorf("merge: piece %q: a name with a line break cannot be listed", abs)
		}
		fmt.Fprintf(&b, "file '%s'\nduration %d.%06d\n", strings.ReplaceAll(abs, "'", `'\''`), (end-prev)/1e6, (end-prev)%1e6)
		prev = end
	}
	path := filepath.Join(dir, ConcatList)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("write concat list: %w", err)
	}
	return path, nil
}
