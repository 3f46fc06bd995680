package ffmpeg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Errors returned by Probe, wrapped in a *MediaError that names the file.
var (
	// ErrNotMedia means ffprobe could not read the file as media.
	ErrNotMedia = errors.New("not a media file")
	// ErrTruncated means the file ends before its own index or headers say it should.
	ErrTruncated = errors.New("truncated or damaged")
	// ErrNoVideo means the file has no video stream to transcode.
	ErrNoVideo = errors.New("no video stream")
	// ErrPlaylist means the file is a playlist or list of other files
	// (HLS, DASH, ffconcat), which ffmpeg would follow to read them.
	ErrPlaylist = errors.New("is a playlist, which reads other files")
)

// Demuxers are the input formats that hold their media themselves. Passed
// as -format_whitelist, they keep a playlist, a DASH manifest or a concat
// list (hls, dash, concat), which make ffmpeg open further files or URLs,
// from being read as a source.
var Demuxers = []string{
	"mov", "matroska", "mpegts", "avi", "flv", "mpeg", "mpegvideo", "asf", "ogg",
	"mxf", "h264", "hevc", "ivf", "nut", "m4v", "yuv4mpegpipe", "dv", "wtv", "gif",
	"apng", "mjpeg", "vc1", "obu", "rm",
}

// SelfContained returns the input options that let ffmpeg read only the
// formats in Demuxers.
func SelfContained() []string {
	return []string{"-format_whitelist", strings.Join(Demuxers, ",")}
}

// MediaError reports a problem with one input file.
type MediaError struct {
	Path   string
	Err    error  // one of the sentinel errors above, or an *os.PathError's cause
	Detail string // what ffprobe said, if anything
}

func (e *MediaError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %v (%s)", e.Path, e.Err, e.Detail)
}

func (e *MediaError) Unwrap() error { return e.Err }

// Rational is an exact fraction such as a time base.
type Rational struct{ Num, Den int64 }

// ParseRational parses "num/den".
func ParseRational(s string) (Rational, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Rational{}, fmt.Errorf("parse rational %q: no slash", s)
	}
	n, err1 := strconv.ParseInt(a, 10, 64)
	d, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return Rational{}, fmt.Errorf("parse rational %q: not integers", s)
	}
	return Rational{n, d}, nil
}

func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Float returns r as a float, 0 when the denominator is 0.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Seconds converts ts ticks of time base r to seconds.
func (r Rational) Seconds(ts int64) float64 { return float64(ts) * r.Float() }

// Micros converts ts ticks of time base r to microseconds, rounding down.
func (r Rational) Micros(ts int64) int64 {
	if r.Den == 0 {
		return 0
	}
	v := ts * r.Num * 1_000_000
	q := v / r.Den
	if v%r.Den != 0 && v < 0 {
		q-- // round towards minus infinity
	}
	return q
}

// Stream is one stream of a media file.
type Stream struct {
	Index      int               `json:"index"`
	Type       string            `json:"type"` // video, audio, subtitle, data, attachment
	Codec      string            `json:"codec"`
	Width      int               `json:"width,omitempty"`
	Height     int               `json:"height,omitempty"`
	PixFmt     string            `json:"pix_fmt,omitempty"`
	FrameRate  string            `json:"frame_rate,omitempty"` // r_frame_rate
	TimeBase   Rational          `json:"-"`
	Rotation   int               `json:"rotation,omitempty"` // degrees counter-clockwise, from the display matrix
	Channels   int               `json:"channels,omitempty"`
	SampleRate int               `json:"sample_rate,omitempty"`
	Language   string            `json:"language,omitempty"`
	Title      string            `json:"title,omitempty"`
	Cover      bool              `json:"cover,omitempty"` // an attached picture, not a video
	Packets    int               `json:"packets"`
	Start      float64           `json:"start_seconds"` // first presented timestamp
	End        float64           `json:"end_seconds"`   // last timestamp plus its duration
	Tags       map[string]string `json:"-"`
}

// Duration is the span of the stream's packets in seconds.
func (s *Stream) Duration() float64 { return s.End - s.Start }

// Frame is one video frame, in presentation order.
type Frame struct {
	PTS int64 // in the video stream's time base
	Key bool
}

// Media describes a probed file.
type Media struct {
	Path     string
	Format   string  // ffprobe's format_name
	Start    float64 // the container's start time in seconds, which ffmpeg's -ss is relative to
	Duration float64 // seconds, from the container
	Size     int64
	Streams  []Stream
	Chapters int
	Video    *Stream // the first video stream that is not a cover picture
	Frames   []Frame // every frame of Video, sorted by PTS
	FrameEnd int64   // PTS just after the last frame of Video
}

// VideoDuration is the span of the video frames in seconds.
func (m *Media) VideoDuration() float64 {
	if m.Video == nil || len(m.Frames) == 0 {
		return 0
	}
	return m.Video.TimeBase.Seconds(m.FrameEnd - m.Frames[0].PTS)
}

// StreamsOf returns the streams of type typ, cover pictures excluded.
func (m *Media) StreamsOf(typ string) []*Stream {
	var out []*Stream
	for i := range m.Streams {
		if s := &m.Streams[i]; s.Type == typ && !s.Cover {
			out = append(out, s)
		}
	}
	return out
}

// Keyframes counts the key frames of the video stream.
func (m *Media) Keyframes() int {
	n := 0
	for _, f := range m.Frames {
		if f.Key {
			n++
		}
	}
	return n
}

// VFR reports whether the video's frame intervals vary, beyond the rounding of
// its time base.
func (m *Media) VFR() bool {
	if len(m.Frames) < 3 {
		return false
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for i := 1; i < len(m.Frames); i++ {
		d := m.Frames[i].PTS - m.Frames[i-1].PTS
		lo, hi = min(lo, d), max(hi, d)
	}
	return hi-lo > max(2, lo/20)
}

// Probe reads the container, every stream and, for the first video stream,
// every frame's timestamp and key flag. It reads packets, not pictures, so it
// costs a demux of the file, not a decode. Problems with the file itself come
// back as a *MediaError.
//
// inputOptions go before the file, as ProbeURL's do; with SelfContained's,
// a playlist is refused with ErrPlaylist.
func (r Runner) Probe(ctx context.Context, path string, inputOptions ...string) (*Media, error) {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &MediaError{Path: path, Err: pe.Err}
		}
		return nil, err
	}
	if fi.IsDir() {
		return nil, &MediaError{Path: path, Err: errors.New("is a directory")}
	}
	url := FileURL(path)
	m, err := r.ProbeURL(ctx, url, inputOptions...)
	if err != nil {
		var me *MediaError
		if errors.As(err, &me) && me.Path == url {
			me.Path = path // name the file as the caller did
			if kind := playlistKind(path); kind != "" && errors.Is(me.Err, ErrNotMedia) {
				me.Err, me.Detail = ErrPlaylist, kind
			}
		}
		return nil, err
	}
	m.Size = fi.Size()
	return m, nil
}

// FileURL returns the name to give ffmpeg for the local file path, so that
// it is read as that file and never taken for an option or a protocol: a
// relative name such as "-report.mp4" would be an option and "10:30.mp4" a
// URL with the scheme "10"; "./-report.mp4" and "./10:30.mp4" are the files.
func FileURL(path string) string {
	if filepath.IsAbs(path) || !strings.HasPrefix(path, "-") && !strings.Contains(path, ":") {
		return path
	}
	return "." + string(filepath.Separator) + path
}

// playlistKind names the kind of playlist the file at path starts like, or
// returns "" when it starts like none.
func playlistKind(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	s := strings.TrimSpace(strings.TrimPrefix(string(head[:n]), "\ufeff"))
	switch {
	case strings.HasPrefix(s, "#EXTM3U"):
		return "an HLS playlist"
	case strings.HasPrefix(s, "ffconcat version"):
		return "an ffconcat list"
	case strings.HasPrefix(s, "<?xml") && strings.Contains(s, "<MPD") || strings.HasPrefix(s, "<MPD"):
		return "a DASH manifest"
	}
	return ""
}

// ProbeURL is Probe for a path or URL that ffprobe opens itself, with
// inputOptions (such as a protocol whitelist) before it. One ffprobe run
// reports the container, the streams and every packet; the packet list is
// decoded as it streams, never held as JSON.
func (r Runner) ProbeURL(ctx context.Context, url string, inputOptions ...string) (*Media, error) {
	return r.ProbeCopy(ctx, url, nil, inputOptions...)
}

// ProbeCopy is ProbeURL that also copies ffprobe's JSON document to w, when
// w is not nil, for ParseProbe to read elsewhere. The document is copied
// whole even when the Media is refused.
func (r Runner) ProbeCopy(ctx context.Context, url string, w io.Writer, inputOptions ...string) (*Media, error) {
	var info jsonInfo
	var packets []packet
	read := func(rd io.Reader) (err error) {
		if w != nil {
			rd = io.TeeReader(rd, w)
		}
		info, packets, err = decodeProbe(rd)
		return err
	}
	args := append(slices.Clip(inputOptions), "-show_format", "-show_streams", "-show_chapters",
		"-show_entries", "packet=stream_index,pts,dts,duration,flags", "-of", "json=c=1", url)
	warnings, err := r.Stream(ctx, args, read)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return nil, &MediaError{Path: url, Err: ErrNotMedia, Detail: probeDetail(ee.Stderr, url)}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &MediaError{Path: url, Err: ErrNotMedia, Detail: err.Error()}
	}
	return media(&info, packets, url, warnings)
}

// ParseProbe reads a JSON document that ProbeCopy wrote for a file it did
// not refuse, and returns the Media with path as its Path.
func ParseProbe(rd io.Reader, path string) (*Media, error) {
	info, packets, err := decodeProbe(rd)
	if err != nil {
		return nil, &MediaError{Path: path, Err: ErrNotMedia, Detail: err.Error()}
	}
	return media(&info, packets, path, "")
}

// media builds the Media of a probe and refuses a damaged one, as ffprobe's
// warnings tell, and one without video frames.
func media(info *jsonInfo, packets []packet, path, warnings string) (*Media, error) {
	m := newMedia(info)
	m.Path = path
	if len(m.Streams) == 0 {
		return nil, &MediaError{Path: path, Err: ErrNotMedia, Detail: "no streams"}
	}
	m.addPackets(packets)
	if d := damage(warnings); d != "" {
		return nil, &MediaError{Path: path, Err: ErrTruncated, Detail: probeDetail(d, path)}
	}
	if m.Video == nil {
		return nil, &MediaError{Path: path, Err: ErrNoVideo}
	}
	if len(m.Frames) == 0 {
		return nil, &MediaError{Path: path, Err: ErrTruncated, Detail: "the video stream has no frames"}
	}
	return m, nil
}

// probeDetail picks the most telling line of ffprobe's complaint, without the
// file name ffprobe repeats.
func probeDetail(stderr, path string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if i := strings.Index(l, "] "); strings.HasPrefix(l, "[") && i > 0 {
			l = l[i+2:]
		}
		l = strings.TrimPrefix(l, path+": ")
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return ""
	}
	// "moov atom not found" says more than the generic last line.
	if len(lines) > 1 && strings.HasPrefix(lines[len(lines)-1], "Invalid data") {
		return lines[len(lines)-2]
	}
	return lines[len(lines)-1]
}

type jsonInfo struct {
	Streams []struct {
		Index        int               `json:"index"`
		CodecName    string            `json:"codec_name"`
		CodecType    string            `json:"codec_type"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		PixFmt       string            `json:"pix_fmt"`
		RFrameRate   string            `json:"r_frame_rate"`
		TimeBase     string            `json:"time_base"`
		Channels     int               `json:"channels"`
		SampleRate   string            `json:"sample_rate"`
		NbFrames     string            `json:"nb_frames"`
		Disposition  map[string]int    `json:"disposition"`
		Tags         map[string]string `json:"tags"`
		SideDataList []struct {
			Type     string `json:"side_data_type"`
			Rotation *int   `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Chapters []json.RawMessage `json:"chapters"`
	Format   struct {
		FormatName string `json:"format_name"`
		StartTime  string `json:"start_time"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// newMedia builds a Media from ffprobe's container and stream sections.
func newMedia(info *jsonInfo) *Media {
	m := &Media{Format: info.Format.FormatName, Chapters: len(info.Chapters)}
	m.Start, _ = strconv.ParseFloat(info.Format.StartTime, 64)
	m.Duration, _ = strconv.ParseFloat(info.Format.Duration, 64)
	for _, s := range info.Streams {
		st := Stream{
			Index: s.Index, Type: s.CodecType, Codec: s.CodecName,
			Width: s.Width, Height: s.Height, PixFmt: s.PixFmt, FrameRate: s.RFrameRate,
			Channels: s.Channels, Tags: s.Tags,
			Language: s.Tags["language"], Title: s.Tags["title"],
			Cover: s.Disposition["attached_pic"] == 1,
		}
		st.SampleRate, _ = strconv.Atoi(s.SampleRate)
		if tb, err := ParseRational(s.TimeBase); err == nil && tb.Den > 0 {
			st.TimeBase = tb
		}
		for _, sd := range s.SideDataList {
			if sd.Rotation != nil {
				st.Rotation = *sd.Rotation
			}
		}
		if st.Rotation == 0 {
			if v, err := strconv.Atoi(s.Tags["rotate"]); err == nil {
				st.Rotation = -v // the old tag is clockwise
			}
		}
		st.Rotation = normalizeRotation(st.Rotation)
		if st.Type == "" {
			st.Type = "data"
		}
		if st.Type == "video" && st.Codec == "" {
			continue // a stream ffprobe cannot identify
		}
		m.Streams = append(m.Streams, st)
	}
	for i := range m.Streams {
		if s := &m.Streams[i]; s.Type == "video" && !s.Cover && s.TimeBase.Den > 0 {
			m.Video = s
			break
		}
	}
	return m
}

// normalizeRotation maps any multiple of 90 degrees into (-180, 180].
func normalizeRotation(r int) int {
	r %= 360
	if r > 180 {
		r -= 360
	}
	if r <= -180 {
		r += 360
	}
	return r
}

type jsonPacket struct {
	StreamIndex int    `json:"stream_index"`
	PTS         *int64 `json:"pts"`
	DTS         *int64 `json:"dts"`
	Duration    int64  `json:"duration"`
	Flags       string `json:"flags"`
}

// packet is the timing of one packet, kept compact: a long file has
// hundreds of thousands.
type packet struct {
	stream   int32
	key      bool
	discard  bool
	ts       int64
	duration int64
}

// decodeProbe reads ffprobe's JSON document: the packets array first, then
// the stream, chapter and format sections.
func decodeProbe(rd io.Reader) (jsonInfo, []packet, error) {
	var info jsonInfo
	var packets []packet
	dec := json.NewDecoder(rd)
	if err := expectDelim(dec, '{'); err != nil {
		return info, nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return info, nil, fmt.Errorf("parse ffprobe output: %w", err)
		}
		switch tok {
		case "packets":
			if err := expectDelim(dec, '['); err != nil {
				return info, nil, err
			}
			for dec.More() {
				var p jsonPacket
				if err := dec.Decode(&p); err != nil {
					return info, nil, fmt.Errorf("parse ffprobe packets: %w", err)
				}
				ts := p.PTS
				if ts == nil {
					ts = p.DTS
				}
				if ts == nil {
					continue
				}
				packets = append(packets, packet{
					stream: int32(p.StreamIndex), ts: *ts, duration: p.Duration,
					key: strings.Contains(p.Flags, "K"), discard: strings.Contains(p.Flags, "D"),
				})
			}
			if err := expectDelim(dec, ']'); err != nil {
				return info, nil, err
			}
		case "streams":
			err = dec.Decode(&info.Streams)
		case "chapters":
			err = dec.Decode(&info.Chapters)
		case "format":
			err = dec.Decode(&info.Format)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return info, nil, fmt.Errorf("parse ffprobe output: %w", err)
		}
	}
	return info, packets, nil
}

// addPackets fills stream spans and the video frame list from packets.
func (m *Media) addPackets(packets []packet) {
	byIndex := map[int]*Stream{}
	for i := range m.Streams {
		s := &m.Streams[i]
		s.Start, s.End = math.Inf(1), math.Inf(-1)
		byIndex[s.Index] = s
	}
	var frameDur int64
	lastVideo := int64(math.MinInt64)
	unordered := false
	for _, p := range packets {
		s := byIndex[int(p.stream)]
		if s == nil {
			continue
		}
		s.Packets++
		if !p.discard {
			s.Start = min(s.Start, s.TimeBase.Seconds(p.ts))
		}
		s.End = max(s.End, s.TimeBase.Seconds(p.ts+p.duration))
		if s != m.Video {
			continue
		}
		if p.ts < lastVideo {
			unordered = true
		}
		lastVideo = p.ts
		m.Frames = append(m.Frames, Frame{PTS: p.ts, Key: p.key})
		if p.duration > 0 {
			frameDur = p.duration
		}
		m.FrameEnd = max(m.FrameEnd, p.ts+p.duration)
	}
	for i := range m.Streams {
		if s := &m.Streams[i]; s.Packets == 0 || math.IsInf(s.Start, 0) {
			s.Start, s.End = 0, max(0, s.End)
		}
	}
	if m.Video == nil || len(m.Frames) == 0 {
		return
	}
	if unordered {
		slices.SortFunc(m.Frames, func(a, b Frame) int { return cmpInt(a.PTS, b.PTS) })
	}
	last := m.Frames[len(m.Frames)-1].PTS
	if m.FrameEnd <= last {
		if frameDur == 0 && len(m.Frames) > 1 {
			frameDur = last - m.Frames[len(m.Frames)-2].PTS
		}
		m.FrameEnd = last + max(frameDur, 1)
	}
}

// damage returns the lines of ffprobe's stderr that say the file ends early
// or is corrupt. Other complaints, such as a decoder's about a stream that
// starts mid-GOP, are normal for healthy files and are ignored.
func damage(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		low := strings.ToLower(l)
		for _, w := range []string{"partial file", "ended prematurely", "truncat", "corrupt", "end of file"} {
			if strings.Contains(low, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("parse ffprobe output: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("parse ffprobe output: want %q, got %v", want, tok)
	}
	return nil
}
