package transcode

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

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

// crfRange is the valid quality range of c's encoder.
func (c Codec) crfRange() (lo, hi int) {
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

// presets lists the preset names c accepts: x264/x265 names, libvpx's
// cpu-used levels and SVT-AV1's preset numbers.
func (c Codec) presets() []string {
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

// Container is an output file format, chosen by the output's extension.
type Container struct {
	Ext    string // ".mp4"
	Format string // ffmpeg muxer name
	Video  []Codec
	Audio  []string // audio codecs it holds, default first
	// Subtitle is the codec text subtitles are converted to, "copy" to keep
	// them as they are, or "" when the container holds none.
	Subtitle string
	// Rotation says the container can carry a display rotation, so rotated
	// video is kept as coded with the rotation copied from the source.
	Rotation bool
}

var containers = []Container{
	{Ext: ".mp4", Format: "mp4", Video: []Codec{H264, H265, VP9, AV1}, Audio: []string{"aac", "opus", "mp3", "ac3", "flac"}, Subtitle: "mov_text", Rotation: true},
	{Ext: ".mov", Format: "mov", Video: []Codec{H264, H265}, Audio: []string{"aac", "mp3", "ac3", "flac"}, Subtitle: "mov_text", Rotation: true},
	{Ext: ".mkv", Format: "matroska", Video: []Codec{H264, H265, VP9, AV1}, Audio: []string{"aac", "opus", "mp3", "ac3", "flac", "vorbis"}, Subtitle: "copy"},
	{Ext: ".webm", Format: "webm", Video: []Codec{VP9, AV1}, Audio: []string{"opus", "vorbis"}, Subtitle: "webvtt"},
}

// ContainerFor returns the container for path's extension.
func ContainerFor(path string) (Container, error) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, c := range containers {
		if c.Ext == ext {
			return c, nil
		}
	}
	return Container{}, fmt.Errorf("%s: unsupported output container %q (want .mp4, .mov, .mkv or .webm)", path, ext)
}

// audioEncoders maps audio codec names to ffmpeg encoders.
var audioEncoders = map[string]string{
	"aac": "aac", "opus": "libopus", "mp3": "libmp3lame", "ac3": "ac3", "flac": "flac", "vorbis": "libvorbis",
}

// Profile is how to encode: everything a segment encoder needs to know
// besides which frames. It travels to Lambda as JSON, so it holds values,
// never ffmpeg arguments.
type Profile struct {
	Codec  Codec  `json:"codec"`
	CRF    int    `json:"crf"`
	Preset string `json:"preset,omitempty"` // "" means the encoder's default
	Height int    `json:"height,omitempty"` // displayed height; 0 keeps the source size
	// Threads is how many threads one segment encode may use. 0 lets the
	// pipeline share the cores among the local encodes running at once;
	// on a remote backend it means every core the encode runs on.
	Threads int `json:"threads,omitempty"`
	// AudioCodec is "" for the container's default, or "copy".
	AudioCodec   string `json:"audio_codec,omitempty"`
	AudioBitrate string `json:"audio_bitrate,omitempty"` // "128k"; "" for the encoder's default
}

// SettingError is a setting that can never work, found before any encoding.
// Setting names it as Profile's JSON field does ("height", "crf").
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

func settingf(setting, format string, args ...any) error {
	return &SettingError{Setting: setting, Err: fmt.Errorf(format, args...)}
}

// Validate fills defaults and checks p against the output container.
// A value that can never work is a *SettingError; the error names outPath
// when the container is the problem.
func (p *Profile) Validate(c Container, outPath string) error {
	if p.Codec == "" {
		p.Codec = H264
	}
	codec, err := ParseCodec(string(p.Codec))
	if err != nil {
		return &SettingError{Setting: "codec", Err: err}
	}
	p.Codec = codec
	if !slices.Contains(c.Video, p.Codec) {
		return settingf("codec", "%s: %s cannot hold %s video (it holds %s)", outPath, c.Ext, p.Codec, joinCodecs(c.Video))
	}
	if p.CRF < 0 {
		p.CRF = p.Codec.DefaultCRF()
	}
	if lo, hi := p.Codec.crfRange(); p.CRF < lo || p.CRF > hi {
		return settingf("crf", "crf %d is out of range for %s (%d-%d)", p.CRF, p.Codec, lo, hi)
	}
	if p.Preset != "" && !slices.Contains(p.Codec.presets(), p.Preset) {
		return settingf("preset", "unknown %s preset %q (want one of %s)", p.Codec, p.Preset, strings.Join(p.Codec.presets(), ", "))
	}
	if p.Height < 0 || p.Height == 1 || p.Height > 8640 {
		return settingf("height", "height %d is out of range (2-8640, or 0 to keep the source size)", p.Height)
	}
	if p.Height%2 != 0 {
		// Every encoder here subsamples chroma by two: an odd height
		// fails in every segment.
		return settingf("height", "height %d is odd; the encoders need an even height (try %d)", p.Height, p.Height+1)
	}
	if p.Threads < 0 || p.Threads > 256 {
		return settingf("threads", "threads %d is out of range (0-256)", p.Threads)
	}
	switch {
	case p.AudioCodec == "":
		p.AudioCodec = c.Audio[0]
	case p.AudioCodec == "copy":
	case !slices.Contains(c.Audio, p.AudioCodec):
		return settingf("audio_codec", "%s: %s cannot hold %s audio (it holds %s)", outPath, c.Ext, p.AudioCodec, strings.Join(c.Audio, ", "))
	}
	if p.AudioBitrate != "" {
		if err := checkBitrate(p.AudioBitrate); err != nil {
			return &SettingError{Setting: "audio_bitrate", Err: err}
		}
	}
	return nil
}

// ValidateAudio checks the audio settings of p as they come from outside,
// with the container's default already filled in: a known codec or "copy",
// and a valid bitrate.
func (p *Profile) ValidateAudio() error {
	if _, ok := audioEncoders[p.AudioCodec]; !ok && p.AudioCodec != "copy" {
		return fmt.Errorf("unknown audio codec %q", p.AudioCodec)
	}
	if p.AudioBitrate != "" {
		return checkBitrate(p.AudioBitrate)
	}
	return nil
}

func checkBitrate(s string) error {
	num := strings.TrimRight(strings.ToLower(s), "k")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || (strings.HasSuffix(strings.ToLower(s), "k") && n > 1536) {
		return fmt.Errorf("audio bitrate %q is not valid (for example 128k)", s)
	}
	return nil
}

func joinCodecs(cs []Codec) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
