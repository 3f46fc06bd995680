package media

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// ErrUnsupported means the source has a stream the output container cannot
// hold, such as picture subtitles in MP4.
var ErrUnsupported = errors.New("cannot be stored in the output format")

// Codec is a video codec chunkcode encodes to.
type Codec string

// The codecs chunkcode can encode, with the ffmpeg encoder used for each.
const (
	H264 Codec = "h264" // libx264
	H265 Codec = "h265" // libx265
	VP9  Codec = "vp9"  // libvpx-vp9
	AV1  Codec = "av1"  // libsvtav1
)

// Codecs lists the supported codecs in the order help text shows them.
var Codecs = []Codec{H264, H265, VP9, AV1}

// Encoder is the ffmpeg encoder for c.
func (c Codec) Encoder() string {
	switch c {
	case H264:
		return "libx264"
	case H265:
		return "libx265"
	case VP9:
		return "libvpx-vp9"
	case AV1:
		return "libsvtav1"
	}
	return ""
}

// DefaultCRF is the quality ffmpeg's encoder uses when none is given.
func (c Codec) DefaultCRF() int {
	switch c {
	case H264:
		return 23
	case H265:
		return 28
	case VP9:
		return 31
	case AV1:
		return 35
	}
	return 0
}

// CRFRange is the valid quality range of c's encoder.
func (c Codec) CRFRange() (lo, hi int) {
	switch c {
	case H264, H265:
		return 0, 51
	case VP9:
		return 0, 63
	case AV1:
		return 1, 63
	}
	return 0, 0
}

// Presets lists the preset names c accepts: x264/x265 names, libvpx's
// cpu-used levels and SVT-AV1's preset numbers.
func (c Codec) Presets() []string {
	switch c {
	case H264, H265:
		return []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}
	case VP9:
		return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}
	case AV1:
		return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"}
	}
	return nil
}

// ParseCodec parses a codec name such as "h264" (also "x264", "hevc").
func ParseCodec(s string) (Codec, error) {
	switch strings.ToLower(s) {
	case "h264", "x264", "avc", "libx264":
		return H264, nil
	case "h265", "x265", "hevc", "libx265":
		return H265, nil
	case "vp9", "libvpx-vp9":
		return VP9, nil
	case "av1", "svtav1", "libsvtav1":
		return AV1, nil
	}
	return "", fmt.Errorf("unknown codec %q (want h264, h265, vp9 or av1)", s)
}

// AudioCodec is an audio codec chunkcode encodes to, or AudioCopy.
type AudioCodec string

// The audio codecs, and AudioCopy, which keeps the source's audio as it is.
const (
	AAC       AudioCodec = "aac"
	Opus      AudioCodec = "opus"
	MP3       AudioCodec = "mp3"
	AC3       AudioCodec = "ac3"
	FLAC      AudioCodec = "flac"
	Vorbis    AudioCodec = "vorbis"
	AudioCopy AudioCodec = "copy"
)

// AudioCodecs lists the audio codecs in the order help text shows them.
var AudioCodecs = []AudioCodec{AAC, Opus, MP3, AC3, FLAC, Vorbis}

// Encoder is the ffmpeg encoder for a, "" for AudioCopy or an unknown codec.
func (a AudioCodec) Encoder() string {
	switch a {
	case AAC:
		return "aac"
	case Opus:
		return "libopus"
	case MP3:
		return "libmp3lame"
	case AC3:
		return "ac3"
	case FLAC:
		return "flac"
	case Vorbis:
		return "libvorbis"
	}
	return ""
}

// Known reports whether a is one of AudioCodecs or AudioCopy.
func (a AudioCodec) Known() bool { return a == AudioCopy || a.Encoder() != "" }

// Ext is the extension of the file the whole-file audio encode writes for
// a: MP4 audio, which records the encoder's priming in an edit list, or
// Matroska for Vorbis, which MP4 does not hold.
func (a AudioCodec) Ext() string {
	if a == Vorbis {
		return ".mka"
	}
	return ".m4a"
}

// Format is the ffmpeg muxer of the file Ext names.
func (a AudioCodec) Format() string {
	if a.Ext() == ".mka" {
		return "matroska"
	}
	return "mp4"
}

// Container is an output file format, chosen by the output's extension: one
// table holds what each can carry and how the merge writes it.
type Container struct {
	Ext    string // ".mp4"
	Format string // ffmpeg muxer name
	Video  []Codec
	Audio  []AudioCodec // audio codecs it holds, default first
	// TextSubtitle is the codec text subtitles are converted to; "" means
	// the container keeps every subtitle codec as it is.
	TextSubtitle string
	// Rotation says the container can carry a display rotation, so rotated
	// video is kept as coded with the rotation copied from the source.
	Rotation bool
	// Faststart says the merge moves the index to the front (MP4, MOV), so
	// playback can start before the whole file is read.
	Faststart bool
}

// Containers are the output containers, in the order help text shows them.
var Containers = []Container{
	{Ext: ".mp4", Format: "mp4", Video: []Codec{H264, H265, VP9, AV1}, Audio: []AudioCodec{AAC, Opus, MP3, AC3, FLAC}, TextSubtitle: "mov_text", Rotation: true, Faststart: true},
	{Ext: ".mov", Format: "mov", Video: []Codec{H264, H265}, Audio: []AudioCodec{AAC, MP3, AC3, FLAC}, TextSubtitle: "mov_text", Rotation: true, Faststart: true},
	{Ext: ".mkv", Format: "matroska", Video: []Codec{H264, H265, VP9, AV1}, Audio: []AudioCodec{AAC, Opus, MP3, AC3, FLAC, Vorbis}},
	{Ext: ".webm", Format: "webm", Video: []Codec{VP9, AV1}, Audio: []AudioCodec{Opus, Vorbis}, TextSubtitle: "webvtt"},
}

// Segment is the container of encoded segments: MP4 keeps exact timestamps
// in the source's time scale and every codec's headers, and its index says
// how many frames a segment holds.
var Segment = Container{Ext: ".mp4", Format: "mp4", Video: []Codec{H264, H265, VP9, AV1}, Audio: []AudioCodec{AAC}}

// ContainerFor returns the container for path's extension.
func ContainerFor(path string) (Container, error) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, c := range Containers {
		if c.Ext == ext {
			return c, nil
		}
	}
	return Container{}, fmt.Errorf("%s: unsupported output container %q (want .mp4, .mov, .mkv or .webm)", path, ext)
}

// Holds reports whether c holds video in codec.
func (c Container) Holds(codec Codec) bool { return slices.Contains(c.Video, codec) }

// HoldsAudio reports whether c holds audio in codec; every container holds
// AudioCopy, which the merge checks against the source's codec.
func (c Container) HoldsAudio(codec AudioCodec) bool {
	return codec == AudioCopy || slices.Contains(c.Audio, codec)
}

// textSubtitles are the subtitle codecs that hold text, which can be
// converted to one another; the rest are pictures.
var textSubtitles = []string{"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"}

// SubtitleCodec returns the codec a subtitle stream in codec becomes in c:
// "copy", a text codec to convert to, or an error wrapping ErrUnsupported
// for picture subtitles in a container that holds only text.
func (c Container) SubtitleCodec(codec string) (string, error) {
	if c.TextSubtitle == "" {
		if codec == "mov_text" {
			return "srt", nil // mov_text is MP4's own
		}
		return "copy", nil
	}
	if codec == c.TextSubtitle {
		return "copy", nil
	}
	if slices.Contains(textSubtitles, codec) {
		return c.TextSubtitle, nil
	}
	return "", fmt.Errorf("%s subtitles: %w (%s)", codec, ErrUnsupported, c.Format)
}
