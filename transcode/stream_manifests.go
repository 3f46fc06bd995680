package transcode

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	manifests "github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// track is one rendition of a ladder as written in the build directory:
// its directory, init segment and media segments in order.
type track struct {
	dir       string
	info      mp4.Init
	segments  []MediaSegment
	durations []uint64 // per segment, on the presentation timeline, in info.Timescale units
}

func (t *track) seconds(i int) float64 { return float64(t.durations[i]) / float64(t.info.Timescale) }

func (t *track) rates() (manifests.Rates, error) {
	sizes := make([]int64, len(t.segments))
	secs := make([]float64, len(t.segments))
	for i, s := range t.segments {
		sizes[i], secs[i] = s.Bytes, t.seconds(i)
	}
	return manifests.Measure(sizes, secs)
}

func (t *track) playlist() manifests.Playlist {
	p := manifests.Playlist{Init: LadderInit}
	for i, s := range t.segments {
		p.Segments = append(p.Segments, manifests.Segment{URI: filepath.Base(s.Name), Duration: t.seconds(i)})
	}
	return p
}

func (t *track) template(pto uint64) *manifests.SegmentTemplate {
	return &manifests.SegmentTemplate{
		Timescale: t.info.Timescale, PresentationTimeOffset: pto,
		Initialization: t.dir + "/" + LadderInit, Media: t.dir + "/seg$Number$.m4s",
		StartNumber: 0, SegmentTimeline: manifests.NewTimeline(t.segments[0].Start, t.durations),
	}
}

func (r *ladderRun) writeManifests(context.Context) error {
	var audioRates manifests.Rates
	audioStreams := r.src.StreamsOf(media.Audio)
	var renditions []manifests.Rendition
	for i, a := range r.audio {
		rt, err := a.rates()
		if err != nil {
			return err
		}
		audioRates.Peak, audioRates.Mean = max(audioRates.Peak, rt.Peak), max(audioRates.Mean, rt.Mean)
		renditions = append(renditions, manifests.Rendition{URI: r.ref(a.dir + "/playlist.m3u8"), Language: language(audioStreams[i]), Name: audioName(audioStreams[i], i)})
	}
	rate, _ := media.ParseRational(r.src.Video.FrameRate)
	master := manifests.Master{Audio: renditions}
	for _, st := range r.subs {
		master.Subtitles = append(master.Subtitles, manifests.Rendition{URI: r.ref(st.dir + "/playlist.m3u8"), Language: st.lang, Name: st.name})
	}
	for i, v := range r.video {
		rt, err := v.rates()
		if err != nil {
			return err
		}
		var codecs string
		switch avc, hevc := v.info.AVC, v.info.HEVC; {
		case avc != nil:
			codecs = manifests.AVCCodec(avc.Profile, avc.Constraints, avc.Level)
		case hevc != nil:
			codecs = manifests.HEVCCodec(hevc.ProfileSpace, hevc.HighTier, hevc.Profile, hevc.Compatibility, hevc.Constraints, hevc.Level)
		default:
			return fmt.Errorf("%s: %w: no avcC or hvcC in the initialization segment", v.dir, ErrVerify)
		}
		all := codecs
		if len(r.audio) > 0 {
			all = manifests.Codecs(codecs, manifests.AACLC)
		}
		total := rt.Plus(audioRates)
		master.Variants = append(master.Variants, manifests.Variant{
			URI: r.ref(v.dir + "/playlist.m3u8"), Bandwidth: total.Peak, AverageBandwidth: total.Mean,
			Codecs: all, Width: r.rungs[i].Width, Height: r.rungs[i].Height, FrameRate: math.Round(rate.Float()*1000) / 1000,
		})
		frames := 0
		var size int64
		for _, s := range v.segments {
			frames += s.Frames
			size += s.Bytes
		}
		r.sum.Rungs[i] = (RungSummary{
			Height: r.rungs[i].Height, Width: r.rungs[i].Width, Codecs: all, Bandwidth: total.Peak, AverageBandwidth: total.Mean,
			MaxrateKbps: r.rungs[i].MaxrateKbps, Frames: frames, Segments: len(v.segments), Bytes: size,
			Playlist: r.playlistPath(v.dir),
		})
	}
	if r.master != "" {
		for _, t := range append(slices.Clone(r.video), r.audio...) {
			text, err := t.playlist().HLS()
			if err == nil {
				err = os.WriteFile(filepath.Join(r.build, t.dir, "playlist.m3u8"), text, 0o644)
			}
			if err != nil {
				return fmt.Errorf("%s playlist: %w", t.dir, err)
			}
		}
		for _, st := range r.subs {
			text, err := st.playlist.HLS()
			if err == nil {
				err = os.WriteFile(filepath.Join(r.build, st.dir, "playlist.m3u8"), text, 0o644)
			}
			if err != nil {
				return fmt.Errorf("%s playlist: %w", st.dir, err)
			}
		}
		text, err := master.HLS()
		if err == nil {
			err = os.WriteFile(filepath.Join(r.build, r.master), text, 0o644)
		}
		if err != nil {
			return fmt.Errorf("master playlist: %w", err)
		}
	}
	if r.mpd != "" {
		if err := r.writeMPD(master); err != nil {
			return err
		}
	}
	return nil
}

// writeMPD writes the DASH MPD: one video AdaptationSet with a
// Representation per rung and one audio AdaptationSet per track, all with
// a SegmentTemplate and SegmentTimeline over the same CMAF segments the
// HLS playlists name. The presentation starts at the first video frame.
func (r *ladderRun) writeMPD(master manifests.Master) error {
	first := r.src.Frames[0].PTS
	vset := manifests.AdaptationSet{ID: 0, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1}
	var longest float64
	for i, v := range r.video {
		rt, err := v.rates()
		if err != nil {
			return err
		}
		pto, err := rescale(first, r.plan.TimeBase, v.info.Timescale)
		if err != nil {
			return err
		}
		for k := range v.durations {
			longest = max(longest, v.seconds(k))
		}
		vset.Representations = append(vset.Representations, manifests.Representation{
			ID: v.dir, Bandwidth: rt.Peak, Codecs: strings.Split(master.Variants[i].Codecs, ",")[0],
			Width: r.rungs[i].Width, Height: r.rungs[i].Height, FrameRate: r.src.Video.FrameRate, Sar: "1:1",
			SegmentTemplate: r.template(v, pto),
		})
		vset.MaxWidth, vset.MaxHeight = max(vset.MaxWidth, r.rungs[i].Width), max(vset.MaxHeight, r.rungs[i].Height)
	}
	sets := []manifests.AdaptationSet{vset}
	streams := r.src.StreamsOf(media.Audio)
	for i, a := range r.audio {
		rt, err := a.rates()
		if err != nil {
			return err
		}
		start := r.plan.TimeBase.Seconds(first)
		pto := uint64(math.Round(start * float64(a.info.Timescale)))
		role := "main"
		if i > 0 {
			role = "alternate"
		}
		sets = append(sets, manifests.AdaptationSet{
			ID: 1 + i, ContentType: "audio", MimeType: "audio/mp4", Lang: language(streams[i]), SegmentAlignment: true, StartWithSAP: 1,
			Roles: []manifests.Descriptor{{SchemeIDURI: manifests.RoleScheme, Value: role}},
			Representations: []manifests.Representation{{
				ID: a.dir, Bandwidth: rt.Peak, Codecs: manifests.AACLC, AudioSamplingRate: int(a.info.Timescale),
				AudioChannelConfiguration: &manifests.Descriptor{SchemeIDURI: manifests.ChannelConfigurationScheme, Value: fmt.Sprint(max(streams[i].Channels, 1))},
				SegmentTemplate:           r.template(a, pto),
			}},
		})
	}
	for i, st := range r.subs {
		sets = append(sets, manifests.AdaptationSet{
			ID: 1 + len(r.audio) + i, ContentType: "text", MimeType: "text/vtt", Lang: st.lang,
			Roles:           []manifests.Descriptor{{SchemeIDURI: manifests.RoleScheme, Value: "subtitle"}},
			Representations: []manifests.Representation{{ID: st.dir, Bandwidth: max(1, st.bits), BaseURL: r.ref(st.dir + "/" + subtitlesFile)}},
		})
	}
	mpd := manifests.MPD{
		MediaPresentationDuration: manifests.DurationOf(r.src.VideoDuration()),
		MaxSegmentDuration:        manifests.DurationOf(longest),
		MinBufferTime:             manifests.DurationOf(r.req.SegmentLength.Seconds()),
		Periods:                   []manifests.Period{{ID: "0", AdaptationSets: sets}},
	}
	text, err := mpd.Encode()
	if err == nil {
		err = os.WriteFile(filepath.Join(r.build, r.mpd), text, 0o644)
	}
	if err != nil {
		return fmt.Errorf("MPD: %w", err)
	}
	return nil
}

// audioName is the NAME of an audio rendition: the track's title, else its
// language, else its number.
func audioName(s *media.Stream, i int) string {
	switch {
	case s.Title != "":
		return s.Title
	case language(s) != "":
		return language(s)
	}
	return fmt.Sprintf("Audio %d", i+1)
}

// verify checks the built ladder before it is moved into place: every rung
// has the source's frames, its segments start where the plan put the media
// segments, identically on every rung, and last as long as the source
// within a frame; the playlists and the MPD parse back, name only files
// that exist, and declare no less than the measured bandwidth.
func (r *ladderRun) verify(ctx context.Context) error {
	r.p.notify(Event{Kind: EventStage, Stage: StageVerify})
	t := time.Now()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", r.req.Output, ErrVerify, fmt.Sprintf(format, args...))
	}
	want := r.src.VideoDuration()
	// A frame's length: the longest interval between two frames, for a
	// variable frame rate; the last frame of a chunk has no next one to
	// take its length from.
	frame := 0.0
	for i := 1; i < len(r.src.Frames); i++ {
		frame = max(frame, r.plan.TimeBase.Seconds(r.src.Frames[i].PTS-r.src.Frames[i-1].PTS))
	}
	if rate, err := media.ParseRational(r.src.Video.FrameRate); err == nil && rate.Float() > 0 {
		frame = max(frame, 1/rate.Float())
	}
	for i, v := range r.video {
		frames := 0
		for k, s := range v.segments {
			frames += s.Frames
			at, _ := r.plan.SegmentPTS(r.src.Frames, k)
			start, err := rescale(at, r.plan.TimeBase, v.info.Timescale)
			if err != nil {
				return err
			}
			if s.Number != k || s.Start != start {
				return fail("%s segment %d starts at %d, the plan at %d", v.dir, k, s.Start, start)
			}
			if i > 0 && s.Start*uint64(r.video[0].info.Timescale) != r.video[0].segments[k].Start*uint64(v.info.Timescale) {
				return fail("%s segment %d starts elsewhere than on %s", v.dir, k, r.video[0].dir)
			}
			if d := math.Abs(float64(s.Duration)-float64(v.durations[k])) / float64(v.info.Timescale); d > frame+1e-9 {
				return fail("%s segment %d: frames last %.3fs, the segment %.3fs", v.dir, k, float64(s.Duration)/float64(v.info.Timescale), v.seconds(k))
			}
		}
		if frames != len(r.src.Frames) {
			return fail("%s has %d frames, the source %d", v.dir, frames, len(r.src.Frames))
		}
		if len(v.segments) != len(r.plan.Starts) {
			return fail("%s has %d segments, planned %d", v.dir, len(v.segments), len(r.plan.Starts))
		}
	}
	if r.master != "" {
		text, err := os.ReadFile(filepath.Join(r.build, r.master))
		if err != nil {
			return err
		}
		m, err := manifests.ParseMaster(text)
		if err != nil {
			return fail("%v", err)
		}
		for i, v := range m.Variants {
			rt, _ := r.video[i].rates()
			if rt.Peak > v.Bandwidth {
				return fail("%s: measured %d bit/s above BANDWIDTH %d", v.URI, rt.Peak, v.Bandwidth)
			}
		}
		var uris []string
		for _, v := range m.Variants {
			uris = append(uris, v.URI)
		}
		for _, a := range append(m.Audio, m.Subtitles...) {
			uris = append(uris, a.URI)
		}
		for _, u := range uris {
			text, err := os.ReadFile(r.local(u))
			if err != nil {
				return fail("%v", err)
			}
			p, err := manifests.ParsePlaylist(text)
			if err != nil {
				return fail("%s: %v", u, err)
			}
			if i := slices.IndexFunc(r.audio, func(a *track) bool { return r.ref(a.dir+"/playlist.m3u8") == u }); i >= 0 {
				// The track as long as the source's, give or take the
				// encoder's priming and its last frame's padding.
				a := r.src.StreamsOf(media.Audio)[i]
				slack := AudioTolerance + 2*1024/float64(max(a.SampleRate, 8000))
				if d := math.Abs(p.Duration() - a.Duration()); d > slack {
					return fail("%s lasts %.3fs, the source's audio %.3fs", u, p.Duration(), a.Duration())
				}
			} else if d := math.Abs(p.Duration() - want); d > frame+1e-3 {
				return fail("%s: segments add up to %.3fs, the source %.3fs", u, p.Duration(), want)
			}
			// Relative to the build directory, whatever form r.build has
			// (./.out.chunkcode-… for an OUTPUT in the working directory).
			dir := filepath.Dir(filepath.FromSlash(strings.TrimPrefix(u, r.ref(""))))
			for _, name := range uriList(p) {
				if !r.exists(filepath.Join(dir, name)) {
					return fail("%s names %s, which is missing", u, name)
				}
			}
		}
	}
	if r.mpd != "" {
		text, err := os.ReadFile(filepath.Join(r.build, r.mpd))
		if err != nil {
			return err
		}
		if _, err := manifests.ParseMPD(text); err != nil {
			return fail("%v", err)
		}
	}
	r.sum.Stages.Verify = time.Since(t).Seconds()
	return ctx.Err()
}

// uriList lists the files p names: its init segment, if any, and its
// media segments.
func uriList(p manifests.Playlist) []string {
	var out []string
	if p.Init != "" {
		out = append(out, p.Init)
	}
	for _, s := range p.Segments {
		out = append(out, s.URI)
	}
	return out
}
