package manifest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/grafov/m3u8"
)

// Group IDs of the renditions in a master playlist.
const (
	AudioGroup     = "audio"
	SubtitlesGroup = "subs"
)

// Master describes an HLS master (multivariant) playlist: one variant per
// video rung, all pointing at the same audio and subtitle groups. There is
// no audio-only variant.
type Master struct {
	Variants  []Variant
	Audio     []Rendition // the first is DEFAULT=YES
	Subtitles []Rendition
}

// Variant is one video rung of a master playlist (EXT-X-STREAM-INF).
type Variant struct {
	// URI is the media playlist, relative to the master playlist.
	URI string
	// Bandwidth is the measured peak bit rate of any segment of the
	// variant, counting its audio, in bit/s; AverageBandwidth the
	// measured mean.
	Bandwidth, AverageBandwidth int
	// Codecs lists the codec strings of the video and of the audio, as
	// Codecs returns them.
	Codecs string
	// Width and Height are the displayed size, after rotation.
	Width, Height int
	FrameRate     float64
}

// Rendition is an audio or subtitle rendition (EXT-X-MEDIA). grafov/m3u8
// v0.12.1 has no CHANNELS attribute, so audio renditions carry none; it is
// optional in RFC 8216 and hls.js does not need it.
type Rendition struct {
	URI      string // the media playlist, relative to the master playlist
	Language string // RFC 5646 tag, such as "en"
	Name     string
}

// HLS returns the master playlist's text: EXT-X-INDEPENDENT-SEGMENTS, the
// audio renditions (LANGUAGE, NAME, DEFAULT=YES for the first, AUTOSELECT),
// the subtitle renditions, and one EXT-X-STREAM-INF per variant with
// BANDWIDTH, AVERAGE-BANDWIDTH, CODECS, RESOLUTION, FRAME-RATE and the AUDIO
// and SUBTITLES groups when there are renditions.
func (m Master) HLS() ([]byte, error) {
	if len(m.Variants) == 0 {
		return nil, fmt.Errorf("%w: master playlist without a variant", ErrInvalid)
	}
	var alts []*m3u8.Alternative
	for i, a := range m.Audio {
		if err := a.check("audio", i); err != nil {
			return nil, err
		}
		alts = append(alts, &m3u8.Alternative{
			Type: "AUDIO", GroupId: AudioGroup, URI: a.URI, Language: a.Language, Name: a.Name,
			Default: i == 0, Autoselect: "YES",
		})
	}
	for i, s := range m.Subtitles {
		if err := s.check("subtitle", i); err != nil {
			return nil, err
		}
		alts = append(alts, &m3u8.Alternative{
			Type: "SUBTITLES", GroupId: SubtitlesGroup, URI: s.URI, Language: s.Language, Name: s.Name,
			Default: false, Autoselect: "YES",
		})
	}
	p := m3u8.NewMasterPlaylist()
	p.SetIndependentSegments(true)
	for i, v := range m.Variants {
		if err := v.check(i); err != nil {
			return nil, err
		}
		params := m3u8.VariantParams{
			Bandwidth:        uint32(v.Bandwidth),
			AverageBandwidth: uint32(v.AverageBandwidth),
			Codecs:           v.Codecs,
			Resolution:       fmt.Sprintf("%dx%d", v.Width, v.Height),
			FrameRate:        v.FrameRate,
			Alternatives:     alts, // written once, before the first variant
		}
		if len(m.Audio) > 0 {
			params.Audio = AudioGroup
		}
		if len(m.Subtitles) > 0 {
			params.Subtitles = SubtitlesGroup
		}
		p.Append(v.URI, nil, params)
	}
	// grafov/m3u8 always writes PROGRAM-ID, an attribute removed in
	// protocol version 6; ours would say 0, which means nothing, so it is
	// cut from the text.
	text := strings.ReplaceAll(p.String(), "#EXT-X-STREAM-INF:PROGRAM-ID=0,", "#EXT-X-STREAM-INF:")
	return []byte(text), nil
}

func (v Variant) check(i int) error {
	switch {
	case v.URI == "":
		return fmt.Errorf("%w: variant %d has no URI", ErrInvalid, i)
	case v.Bandwidth <= 0 || v.Bandwidth > math.MaxUint32:
		return fmt.Errorf("%w: variant %d: BANDWIDTH %d", ErrInvalid, i, v.Bandwidth)
	case v.AverageBandwidth < 0 || v.AverageBandwidth > v.Bandwidth:
		return fmt.Errorf("%w: variant %d: AVERAGE-BANDWIDTH %d above BANDWIDTH %d", ErrInvalid, i, v.AverageBandwidth, v.Bandwidth)
	case v.Codecs == "":
		return fmt.Errorf("%w: variant %d has no CODECS", ErrInvalid, i)
	case v.Width <= 0 || v.Height <= 0:
		return fmt.Errorf("%w: variant %d: RESOLUTION %dx%d", ErrInvalid, i, v.Width, v.Height)
	case v.FrameRate <= 0:
		return fmt.Errorf("%w: variant %d: FRAME-RATE %g", ErrInvalid, i, v.FrameRate)
	}
	return nil
}

func (r Rendition) check(kind string, i int) error {
	switch {
	case r.URI == "":
		return fmt.Errorf("%w: %s rendition %d has no URI", ErrInvalid, kind, i)
	case r.Name == "":
		return fmt.Errorf("%w: %s rendition %d has no NAME", ErrInvalid, kind, i)
	case strings.ContainsAny(r.Name+r.Language+r.URI, "\"\r\n"):
		return fmt.Errorf("%w: %s rendition %d: a quote or line break in NAME, LANGUAGE or URI", ErrInvalid, kind, i)
	}
	return nil
}

// ParseMaster reads a master playlist's text back with grafov/m3u8.
func ParseMaster(text []byte) (Master, error) {
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(text), true)
	if err != nil {
		return Master{}, fmt.Errorf("decode master playlist: %w", err)
	}
	if typ != m3u8.MASTER {
		return Master{}, fmt.Errorf("%w: not a master playlist", ErrInvalid)
	}
	p := pl.(*m3u8.MasterPlaylist)
	var m Master
	seen := map[*m3u8.Alternative]bool{}
	for _, v := range p.Variants {
		var w, h int
		if _, err := fmt.Sscanf(v.Resolution, "%dx%d", &w, &h); err != nil {
			return Master{}, fmt.Errorf("%w: variant %s: RESOLUTION %q", ErrInvalid, v.URI, v.Resolution)
		}
		m.Variants = append(m.Variants, Variant{
			URI: v.URI, Bandwidth: int(v.Bandwidth), AverageBandwidth: int(v.AverageBandwidth),
			Codecs: v.Codecs, Width: w, Height: h, FrameRate: v.FrameRate,
		})
		for _, a := range v.Alternatives {
			if seen[a] {
				continue
			}
			seen[a] = true
			r := Rendition{URI: a.URI, Language: a.Language, Name: a.Name}
			switch a.Type {
			case "AUDIO":
				m.Audio = append(m.Audio, r)
			case "SUBTITLES":
				m.Subtitles = append(m.Subtitles, r)
			}
		}
	}
	return m, nil
}

// Playlist describes a VOD media playlist of CMAF segments.
type Playlist struct {
	// Init is the initialization segment (EXT-X-MAP), relative to the
	// playlist; empty for WebVTT subtitles, which have none.
	Init     string
	Segments []Segment
}

// Segment is one media segment of a playlist.
type Segment struct {
	URI      string  // relative to the playlist
	Duration float64 // seconds
}

// Duration returns the sum of the segments' durations.
func (p Playlist) Duration() float64 {
	var d float64
	for _, s := range p.Segments {
		d += s.Duration
	}
	return d
}

// TargetDuration returns EXT-X-TARGETDURATION: the longest segment's
// duration rounded to the nearest second, at least 1.
func (p Playlist) TargetDuration() int {
	t := 1
	for _, s := range p.Segments {
		t = max(t, int(math.Round(s.Duration)))
	}
	return t
}

// HLS returns the media playlist's text: version 6 (EXT-X-MAP outside an
// I-frame playlist needs it), EXT-X-PLAYLIST-TYPE:VOD, EXT-X-TARGETDURATION,
// EXT-X-MAP when Init is set, every segment, and EXT-X-ENDLIST. grafov/m3u8
// writes EXTINF with three decimals.
func (p Playlist) HLS() ([]byte, error) {
	if len(p.Segments) == 0 {
		return nil, fmt.Errorf("%w: media playlist without a segment", ErrInvalid)
	}
	pl, err := m3u8.NewMediaPlaylist(0, uint(len(p.Segments)))
	if err != nil {
		return nil, fmt.Errorf("create media playlist: %w", err)
	}
	pl.MediaType = m3u8.VOD
	if p.Init != "" {
		pl.SetDefaultMap(p.Init, 0, 0)
	}
	for i, s := range p.Segments {
		if s.URI == "" || s.Duration <= 0 {
			return nil, fmt.Errorf("%w: segment %d: URI %q, duration %g", ErrInvalid, i, s.URI, s.Duration)
		}
		if err := pl.Append(s.URI, s.Duration, ""); err != nil {
			return nil, fmt.Errorf("append segment %d: %w", i, err)
		}
	}
	pl.TargetDuration = float64(p.TargetDuration())
	pl.SetVersion(6)
	pl.Close()
	return pl.Encode().Bytes(), nil
}

// ParsePlaylist reads a media playlist's text back with grafov/m3u8. It
// fails unless the playlist is VOD, ended, and its EXT-X-TARGETDURATION is
// no less than any segment's rounded duration.
func ParsePlaylist(text []byte) (Playlist, error) {
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(text), true)
	if err != nil {
		return Playlist{}, fmt.Errorf("decode media playlist: %w", err)
	}
	if typ != m3u8.MEDIA {
		return Playlist{}, fmt.Errorf("%w: not a media playlist", ErrInvalid)
	}
	m := pl.(*m3u8.MediaPlaylist)
	if m.MediaType != m3u8.VOD || !m.Closed {
		return Playlist{}, fmt.Errorf("%w: not a VOD playlist with EXT-X-ENDLIST", ErrInvalid)
	}
	var p Playlist
	if m.Map != nil {
		p.Init = m.Map.URI
	}
	for _, s := range m.GetAllSegments() {
		if s.Map != nil && p.Init == "" {
			p.Init = s.Map.URI
		}
		p.Segments = append(p.Segments, Segment{URI: s.URI, Duration: s.Duration})
	}
	// grafov/m3u8 raises TargetDuration to fit every segment it appends
	// while decoding, so the declared value is read from the text itself.
	declared, err := targetDuration(text)
	if err != nil {
		return Playlist{}, err
	}
	if t := p.TargetDuration(); t > declared {
		return Playlist{}, fmt.Errorf("%w: EXT-X-TARGETDURATION %d below a segment's rounded duration %d", ErrInvalid, declared, t)
	}
	return p, nil
}

// targetDuration returns the value of the EXT-X-TARGETDURATION tag.
func targetDuration(text []byte) (int, error) {
	const tag = "#EXT-X-TARGETDURATION:"
	for line := range strings.Lines(string(text)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), tag); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("%w: %s%s", ErrInvalid, tag, v)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: no EXT-X-TARGETDURATION", ErrInvalid)
}
