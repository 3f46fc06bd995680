package transcode

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/chunkcode/chunkcode/transcode/media"
)

// Profile is how to encode: everything a segment encoder needs to know
// besides which frames. It holds values, never ffmpeg arguments. A zero
// value in any field means the default: WithDefaults fills them in, and
// Check says whether the result can work.
type Profile struct {
	Codec media.Codec `json:"codec,omitempty"` // "" is the container's default
	// CRF is the encoder's quality; nil is the codec's default. A pointer,
	// since 0 is a quality of its own (lossless for x264 and x265).
	CRF    *int   `json:"crf,omitempty"`
	Preset string `json:"preset,omitempty"` // "" means the encoder's default
	Height int    `json:"height,omitempty"` // displayed height; 0 keeps the source size
	// Threads is how many threads one segment encode may use. 0 lets the
	// pipeline share the cores among the local encodes running at once;
	// on a remote backend it means every core the encode runs on.
	Threads int `json:"threads,omitempty"`
	// AudioCodec is "" for the container's default, or media.AudioCopy.
	AudioCodec   media.AudioCodec `json:"audio_codec,omitempty"`
	AudioBitrate string           `json:"audio_bitrate,omitempty"` // "128k"; "" for the encoder's default
}

// CRF returns a pointer to crf, for Profile.CRF.
func CRF(crf int) *int { return &crf }

// Quality is p's CRF, or the codec's default when it has none.
func (p Profile) Quality() int {
	if p.CRF != nil {
		return *p.CRF
	}
	return p.Codec.DefaultCRF()
}

// Equal reports whether p and o ask for the same encode: the same
// settings, a nil CRF being the codec's default.
func (p Profile) Equal(o Profile) bool {
	if p.Quality() != o.Quality() {
		return false
	}
	p.CRF, o.CRF = nil, nil
	return p == o
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

// WithDefaults returns p with its zero settings filled in: the codec (c's
// default video codec, or h264 for a zero Container, and a name such as
// "x264" made canonical), its CRF and, from c, the container's default
// audio codec. A zero Container leaves the audio codec as it is. An
// unknown codec is kept, for Check to name.
func (p Profile) WithDefaults(c media.Container) Profile {
	if p.Codec == "" {
		p.Codec = media.H264
		if len(c.Video) > 0 {
			p.Codec = c.Video[0]
		}
	}
	if codec, err := media.ParseCodec(string(p.Codec)); err == nil {
		p.Codec = codec
	}
	if p.CRF == nil {
		p.CRF = CRF(p.Codec.DefaultCRF())
	}
	if p.AudioCodec == "" && len(c.Audio) > 0 {
		p.AudioCodec = c.Audio[0]
	}
	return p
}

// Check reports whether p, with its defaults filled in, can be written to
// the container c. A value that can never work is a *SettingError; the
// error names outPath when the container is the problem. An audio codec
// left "" is not checked against c.
func (p Profile) Check(c media.Container, outPath string) error {
	if err := p.CheckVideo(); err != nil {
		return err
	}
	if !c.Holds(p.Codec) {
		return settingf("codec", "%s: %s cannot hold %s video (it holds %s)", outPath, c.Ext, p.Codec, joinCodecs(c.Video))
	}
	if p.AudioCodec != "" && !c.HoldsAudio(p.AudioCodec) {
		if !p.AudioCodec.Known() {
			return settingf("audio_codec", "unknown audio codec %q", p.AudioCodec)
		}
		return settingf("audio_codec", "%s: %s cannot hold %s audio (it holds %s)", outPath, c.Ext, p.AudioCodec, joinCodecs(c.Audio))
	}
	return p.CheckAudio()
}

// CheckVideo checks the settings of p that a segment encode uses, whatever
// the container: the codec, CRF, preset, height and threads.
func (p Profile) CheckVideo() error {
	if _, err := media.ParseCodec(string(p.Codec)); err != nil {
		return &SettingError{Setting: "codec", Err: err}
	}
	if lo, hi := p.Codec.CRFRange(); p.Quality() < lo || p.Quality() > hi {
		return settingf("crf", "crf %d is out of range for %s (%d-%d)", p.Quality(), p.Codec, lo, hi)
	}
	if p.Preset != "" && !slices.Contains(p.Codec.Presets(), p.Preset) {
		return settingf("preset", "unknown %s preset %q (want one of %s)", p.Codec, p.Preset, strings.Join(p.Codec.Presets(), ", "))
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
	return nil
}

// CheckAudio checks the audio settings of p as they come from outside: a
// known codec or copy, when one is set, and a valid bitrate.
func (p Profile) CheckAudio() error {
	if p.AudioCodec != "" && !p.AudioCodec.Known() {
		return settingf("audio_codec", "unknown audio codec %q", p.AudioCodec)
	}
	if p.AudioBitrate != "" {
		if err := checkBitrate(p.AudioBitrate); err != nil {
			return &SettingError{Setting: "audio_bitrate", Err: err}
		}
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

func joinCodecs[C ~string](cs []C) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
