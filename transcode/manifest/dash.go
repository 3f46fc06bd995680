package manifest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MPD namespace and the profile of MPDs with SegmentTemplate addressing.
const (
	MPDNamespace   = "urn:mpeg:dash:schema:mpd:2011"
	ProfileLive    = "urn:mpeg:dash:profile:isoff-live:2011"
	mpdTypeStatic  = "static"
	mpdMaxDuration = 1 << 40 // an upper bound for sanity checks, in seconds
)

// MPD is a static (VOD) DASH Media Presentation Description. Field order
// follows the element order of the DASH schema (ISO/IEC 23009-1), which
// encoding/xml keeps.
type MPD struct {
	XMLName                   xml.Name `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Profiles                  string   `xml:"profiles,attr"`
	Type                      string   `xml:"type,attr"`
	MediaPresentationDuration Duration `xml:"mediaPresentationDuration,attr"`
	MaxSegmentDuration        Duration `xml:"maxSegmentDuration,attr,omitempty"`
	MinBufferTime             Duration `xml:"minBufferTime,attr"`
	Periods                   []Period `xml:"Period"`
}

// Period is one period of an MPD; a ladder has one.
type Period struct {
	ID             string          `xml:"id,attr,omitempty"`
	Start          Duration        `xml:"start,attr"`
	AdaptationSets []AdaptationSet `xml:"AdaptationSet"`
}

// AdaptationSet groups the switchable representations of one media type:
// the video rungs, one audio track, or one text track.
type AdaptationSet struct {
	ID               int              `xml:"id,attr"`
	ContentType      string           `xml:"contentType,attr"` // video, audio, text
	MimeType         string           `xml:"mimeType,attr"`    // video/mp4, audio/mp4, text/vtt
	Lang             string           `xml:"lang,attr,omitempty"`
	SegmentAlignment bool             `xml:"segmentAlignment,attr,omitempty"`
	StartWithSAP     int              `xml:"startWithSAP,attr,omitempty"`
	MaxWidth         int              `xml:"maxWidth,attr,omitempty"`
	MaxHeight        int              `xml:"maxHeight,attr,omitempty"`
	Par              string           `xml:"par,attr,omitempty"`
	Roles            []Descriptor     `xml:"Role"`
	Representations  []Representation `xml:"Representation"`
}

// Representation is one encoding of an adaptation set: a video rung, an
// audio track, or a WebVTT file (BaseURL, no template).
type Representation struct {
	ID                        string           `xml:"id,attr"`
	Bandwidth                 int              `xml:"bandwidth,attr"`
	Codecs                    string           `xml:"codecs,attr,omitempty"`
	Width                     int              `xml:"width,attr,omitempty"`
	Height                    int              `xml:"height,attr,omitempty"`
	FrameRate                 string           `xml:"frameRate,attr,omitempty"` // "25" or "30000/1001"
	Sar                       string           `xml:"sar,attr,omitempty"`
	AudioSamplingRate         int              `xml:"audioSamplingRate,attr,omitempty"`
	AudioChannelConfiguration *Descriptor      `xml:"AudioChannelConfiguration"`
	BaseURL                   string           `xml:"BaseURL,omitempty"`
	SegmentTemplate           *SegmentTemplate `xml:"SegmentTemplate"`
}

// Descriptor is a scheme and value, as in Role and AudioChannelConfiguration.
type Descriptor struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       string `xml:"value,attr,omitempty"`
}

// Scheme of AudioChannelConfiguration values that are channel counts, and
// of Role values such as "main" and "subtitle".
const (
	ChannelConfigurationScheme = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
	RoleScheme                 = "urn:mpeg:dash:role:2011"
)

// SegmentTemplate addresses a representation's CMAF segments: Media is a
// template with $Number$ (from StartNumber) or $Time$, and the
// SegmentTimeline lists every segment's duration in Timescale units.
type SegmentTemplate struct {
	Timescale              uint32           `xml:"timescale,attr"`
	PresentationTimeOffset uint64           `xml:"presentationTimeOffset,attr,omitempty"`
	Initialization         string           `xml:"initialization,attr"`
	Media                  string           `xml:"media,attr"`
	StartNumber            int              `xml:"startNumber,attr"`
	SegmentTimeline        *SegmentTimeline `xml:"SegmentTimeline"`
}

// SegmentTimeline is a run-length list of segment durations.
type SegmentTimeline struct {
	S []S `xml:"S"`
}

// S is one run of a SegmentTimeline: R+1 segments of duration D, the first
// starting at T when T is set, else where the previous run ended.
type S struct {
	T *uint64 `xml:"t,attr"`
	D uint64  `xml:"d,attr"`
	R int     `xml:"r,attr,omitempty"`
}

// NewTimeline returns the SegmentTimeline of consecutive segments with the
// given durations, the first starting at start: equal neighbours share a
// run.
func NewTimeline(start uint64, durations []uint64) *SegmentTimeline {
	tl := &SegmentTimeline{}
	for i, d := range durations {
		if n := len(tl.S); n > 0 && tl.S[n-1].D == d {
			tl.S[n-1].R++
			continue
		}
		s := S{D: d}
		if i == 0 {
			t := start
			s.T = &t
		}
		tl.S = append(tl.S, s)
	}
	return tl
}

// Segments expands the timeline: every segment's start and duration. It
// fails on a negative repeat count (open-ended, for live streams only), a
// zero duration, or a run starting before the previous one ended.
func (tl SegmentTimeline) Segments() (starts, durations []uint64, err error) {
	var at uint64
	for i, s := range tl.S {
		if s.R < 0 || s.D == 0 {
			return nil, nil, fmt.Errorf("%w: SegmentTimeline S %d: d=%d r=%d", ErrInvalid, i, s.D, s.R)
		}
		if s.T != nil {
			if i > 0 && *s.T < at {
				return nil, nil, fmt.Errorf("%w: SegmentTimeline S %d starts at %d, before %d", ErrInvalid, i, *s.T, at)
			}
			at = *s.T
		}
		for range s.R + 1 {
			starts = append(starts, at)
			durations = append(durations, s.D)
			at += s.D
		}
	}
	return starts, durations, nil
}

// Encode returns the MPD as XML. It sets the type to static and fills
// Profiles when empty, and fails when a period has no adaptation set, an
// adaptation set no representation, a representation no id, bandwidth or
// addressing, or two representations share an id.
func (m MPD) Encode() ([]byte, error) {
	m.Type = mpdTypeStatic
	if m.Profiles == "" {
		m.Profiles = ProfileLive
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	out, err := xml.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode MPD: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

func (m MPD) check() error {
	if m.MediaPresentationDuration <= 0 {
		return fmt.Errorf("%w: MPD without a mediaPresentationDuration", ErrInvalid)
	}
	if len(m.Periods) == 0 {
		return fmt.Errorf("%w: MPD without a Period", ErrInvalid)
	}
	ids := map[string]bool{}
	for _, p := range m.Periods {
		if len(p.AdaptationSets) == 0 {
			return fmt.Errorf("%w: Period %q without an AdaptationSet", ErrInvalid, p.ID)
		}
		for _, as := range p.AdaptationSets {
			if len(as.Representations) == 0 {
				return fmt.Errorf("%w: AdaptationSet %d without a Representation", ErrInvalid, as.ID)
			}
			for _, r := range as.Representations {
				switch {
				case r.ID == "" || strings.ContainsAny(r.ID, " $"):
					return fmt.Errorf("%w: AdaptationSet %d: Representation id %q", ErrInvalid, as.ID, r.ID)
				case ids[r.ID]:
					return fmt.Errorf("%w: Representation id %q used twice", ErrInvalid, r.ID)
				case r.Bandwidth <= 0:
					return fmt.Errorf("%w: Representation %q: bandwidth %d", ErrInvalid, r.ID, r.Bandwidth)
				case r.SegmentTemplate == nil && r.BaseURL == "":
					return fmt.Errorf("%w: Representation %q has neither SegmentTemplate nor BaseURL", ErrInvalid, r.ID)
				}
				ids[r.ID] = true
				if st := r.SegmentTemplate; st != nil {
					if st.Timescale == 0 || !strings.Contains(st.Media, "$Number") && !strings.Contains(st.Media, "$Time$") {
						return fmt.Errorf("%w: Representation %q: SegmentTemplate timescale %d, media %q", ErrInvalid, r.ID, st.Timescale, st.Media)
					}
					if st.SegmentTimeline == nil {
						return fmt.Errorf("%w: Representation %q: SegmentTemplate without a SegmentTimeline", ErrInvalid, r.ID)
					}
					if _, _, err := st.SegmentTimeline.Segments(); err != nil {
						return fmt.Errorf("representation %q: %w", r.ID, err)
					}
				}
			}
		}
	}
	return nil
}

// ParseMPD reads an MPD back. It fails on XML that is not an MPD in the
// DASH namespace, on a dynamic MPD, and on the faults Encode refuses.
func ParseMPD(text []byte) (MPD, error) {
	var m MPD
	if err := xml.NewDecoder(bytes.NewReader(text)).Decode(&m); err != nil {
		return MPD{}, fmt.Errorf("decode MPD: %w", err)
	}
	if m.Type != mpdTypeStatic {
		return MPD{}, fmt.Errorf("%w: MPD type %q, want static", ErrInvalid, m.Type)
	}
	if err := m.check(); err != nil {
		return MPD{}, err
	}
	return m, nil
}

// Duration is an xs:duration attribute such as "PT6.006S", limited to
// hours, minutes and seconds (and days on reading), as MPDs use it.
type Duration time.Duration

// Seconds returns d in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// DurationOf returns the Duration of seconds, to the nearest nanosecond.
func DurationOf(seconds float64) Duration {
	return Duration(math.Round(seconds * float64(time.Second)))
}

// String returns d as xs:duration: "PT1H2M3.5S", "PT0S".
func (d Duration) String() string {
	t := time.Duration(d)
	if t < 0 {
		return "-" + Duration(-t).String()
	}
	s := "PT"
	if h := t / time.Hour; h > 0 {
		s += strconv.FormatInt(int64(h), 10) + "H"
		t -= h * time.Hour
	}
	if m := t / time.Minute; m > 0 {
		s += strconv.FormatInt(int64(m), 10) + "M"
		t -= m * time.Minute
	}
	if t > 0 || s == "PT" {
		s += strconv.FormatFloat(t.Seconds(), 'f', -1, 64) + "S"
	}
	return s
}

// MarshalXMLAttr writes d as xs:duration.
func (d Duration) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: d.String()}, nil
}

// UnmarshalXMLAttr reads an xs:duration without years or months.
func (d *Duration) UnmarshalXMLAttr(attr xml.Attr) error {
	v, err := parseDuration(attr.Value)
	if err != nil {
		return fmt.Errorf("%w: %s=%q: %v", ErrInvalid, attr.Name.Local, attr.Value, err)
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("no P")
	}
	var total float64
	inTime, parts := false, 0
	for rest != "" {
		if rest[0] == 'T' {
			inTime = true
			rest = rest[1:]
			continue
		}
		i := strings.IndexAny(rest, "YMWDHS")
		if i <= 0 {
			return 0, fmt.Errorf("bad component %q", rest)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad number %q", rest[:i])
		}
		switch unit := rest[i]; {
		case unit == 'D' && !inTime:
			total += n * 86400
		case unit == 'H' && inTime:
			total += n * 3600
		case unit == 'M' && inTime:
			total += n * 60
		case unit == 'S' && inTime:
			total += n
		default:
			return 0, fmt.Errorf("unit %c not supported here", unit)
		}
		rest = rest[i+1:]
		parts++
	}
	if parts == 0 {
		return 0, fmt.Errorf("no component")
	}
	if total > mpdMaxDuration {
		return 0, fmt.Errorf("too long")
	}
	if neg {
		total = -total
	}
	return DurationOf(total), nil
}
