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

	"github.com/chunkcode/chunkcode/transcode/media"
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

// Probe reads the container, every stream and, for the first video stream,
// every frame's timestamp and key flag. It reads packets, not pictures, so it
// costs a demux of the file, not a decode. Problems with the file itself come
// back as a *media.Error.
//
// inputOptions go before the file, as ProbeURL's do; with SelfContained's,
// a playlist is refused with media.ErrPlaylist.
func (r Runner) Probe(ctx context.Context, path string, inputOptions ...string) (*media.Media, error) {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &media.Error{Path: path, Err: pe.Err}
		}
		return nil, err
	}
	if fi.IsDir() {
		return nil, &media.Error{Path: path, Err: errors.New("is a directory")}
	}
	url := FileURL(path)
	m, err := r.ProbeURL(ctx, url, inputOptions...)
	if err != nil {
		var me *media.Error
		if errors.As(err, &me) && me.Path == url {
			me.Path = path // name the file as the caller did
			if kind := playlistKind(path); kind != "" && errors.Is(me.Err, media.ErrNotMedia) {
				me.Err, me.Detail = media.ErrPlaylist, kind
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
func (r Runner) ProbeURL(ctx context.Context, url string, inputOptions ...string) (*media.Media, error) {
	return r.ProbeCopy(ctx, url, nil, inputOptions...)
}

// ProbeCopy is ProbeURL that also copies ffprobe's JSON document to w, when
// w is not nil, for ParseProbe to read elsewhere. The document is copied
// whole even when the media.Media is refused.
func (r Runner) ProbeCopy(ctx context.Context, url string, w io.Writer, inputOptions ...string) (*media.Media, error) {
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
			return nil, &media.Error{Path: url, Err: media.ErrNotMedia, Detail: probeDetail(ee.Stderr, url)}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &media.Error{Path: url, Err: media.ErrNotMedia, Detail: err.Error()}
	}
	return checkMedia(&info, packets, url, warnings)
}

// ParseProbe reads a JSON document that ProbeCopy wrote for a file it did
// not refuse, and returns the media.Media with path as its Path.
func ParseProbe(rd io.Reader, path string) (*media.Media, error) {
	info, packets, err := decodeProbe(rd)
	if err != nil {
		return nil, &media.Error{Path: path, Err: media.ErrNotMedia, Detail: err.Error()}
	}
	return checkMedia(&info, packets, path, "")
}

// media builds the media.Media of a probe and refuses a damaged one, as ffprobe's
// warnings tell, and one without video frames.
func checkMedia(info *jsonInfo, packets []packet, path, warnings string) (*media.Media, error) {
	m := newMedia(info)
	m.Path = path
	if len(m.Streams) == 0 {
		return nil, &media.Error{Path: path, Err: media.ErrNotMedia, Detail: "no streams"}
	}
	addPackets(m, packets)
	if d := damage(warnings); d != "" {
		return nil, &media.Error{Path: path, Err: media.ErrTruncated, Detail: probeDetail(d, path)}
	}
	if m.Video == nil {
		return nil, &media.Error{Path: path, Err: media.ErrNoVideo}
	}
	if len(m.Frames) == 0 {
		return nil, &media.Error{Path: path, Err: media.ErrTruncated, Detail: "the video stream has no frames"}
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

// newMedia builds a media.Media from ffprobe's container and stream sections.
func newMedia(info *jsonInfo) *media.Media {
	m := &media.Media{Format: info.Format.FormatName, Chapters: len(info.Chapters)}
	m.Start, _ = strconv.ParseFloat(info.Format.StartTime, 64)
	m.Duration, _ = strconv.ParseFloat(info.Format.Duration, 64)
	for _, s := range info.Streams {
		st := media.Stream{
			Index: s.Index, Type: media.StreamType(s.CodecType), Codec: s.CodecName,
			Width: s.Width, Height: s.Height, PixFmt: s.PixFmt, FrameRate: s.RFrameRate,
			Channels: s.Channels, Tags: s.Tags,
			Language: s.Tags["language"], Title: s.Tags["title"],
			Cover: s.Disposition["attached_pic"] == 1,
		}
		st.SampleRate, _ = strconv.Atoi(s.SampleRate)
		if tb, err := media.ParseRational(s.TimeBase); err == nil && tb.Den > 0 {
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
func addPackets(m *media.Media, packets []packet) {
	byIndex := map[int]*media.Stream{}
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
		m.Frames = append(m.Frames, media.Frame{PTS: p.ts, Key: p.key})
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
		slices.SortFunc(m.Frames, func(a, b media.Frame) int { return cmpInt(a.PTS, b.PTS) })
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
