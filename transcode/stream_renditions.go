package transcode

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	manifests "github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// AudioDir is the directory of audio rendition i in a ladder.
func AudioDir(i int) string { return fmt.Sprintf("audio%d", i) }

// encodeAudio encodes every audio track once, over the whole source, and
// cuts each into CMAF segments.
func (r *ladderRun) encodeAudio(ctx context.Context) error {
	if _, remote := r.remoteSource(); remote {
		ae, ok := r.session.(AudioEncoder)
		if !ok {
			return fmt.Errorf("%s: the %s backend cannot encode its audio", r.req.Input, r.chunkBackend.Properties().Name)
		}
		return r.encodeRemoteAudio(ctx, ae)
	}
	r.p.notify(Event{Kind: EventStage, Stage: StageAudio})
	t := time.Now()
	streams := r.src.StreamsOf(media.Audio)
	outputs := make([]string, len(streams))
	for i := range streams {
		outputs[i] = filepath.Join(r.work, fmt.Sprintf("audio%d.mp4", i))
	}
	total := audioDuration(r.src)
	err := r.p.Runner.RunTimed(ctx, LadderAudioArgs(r.src, r.prof, r.req.SegmentLength, outputs), func(s float64) {
		r.p.notify(Event{Kind: EventAudio, Seconds: min(s, total), Total: total})
	})
	if err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	for i, out := range outputs {
		tr, err := cutAudio(out, r.build, AudioDir(i), r.req.SegmentLength)
		if err != nil {
			return fmt.Errorf("audio track %d: %w", i, err)
		}
		r.audio = append(r.audio, tr)
	}
	r.sum.Stages.Audio = time.Since(t).Seconds()
	r.p.notify(Event{Kind: EventAudio, Seconds: total, Total: total})
	return nil
}

// cutAudio cuts the fragmented MP4 at path into root/dir, a segment per
// fragment, except that a last fragment shorter than half of length joins
// the segment before, as the video's last segment does.
func cutAudio(path, root, dir string, length time.Duration) (*track, error) {
	info, err := mp4.ReadInit(path)
	if err != nil {
		return nil, err
	}
	frags, err := mp4.ReadFragments(path, info)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		return nil, err
	}
	tr := &track{dir: dir, info: info}
	// The AAC encoder's priming samples come before the first source
	// sample; for a source starting at 0 that is before 0, which a
	// decode time cannot say. The track then starts at 0, the source's
	// first sample one AAC frame (21 ms at 48 kHz) late.
	var shift int64
	if first := int64(frags[0].Start); first < 0 {
		shift = -first
	}
	init, err := mp4.Cut(path, func(i int, piece []byte) error {
		if i >= len(frags) {
			return fmt.Errorf("%w: more moof boxes than fragments", mp4.ErrInvalid)
		}
		fr := frags[i]
		fr.Start = uint64(int64(fr.Start) + shift)
		if err := mp4.SetDecodeTime(piece, uint32(i+1), fr.Start); err != nil {
			return err
		}
		half := uint64(length.Seconds() * float64(info.Timescale) / 2)
		if n := len(tr.segments); i == len(frags)-1 && n > 0 && fr.Duration < half {
			prev := &tr.segments[n-1]
			f, err := os.OpenFile(filepath.Join(root, prev.Name), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			_, err = f.Write(piece)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			prev.Duration += fr.Duration
			prev.Frames += fr.Samples
			prev.Bytes += int64(len(piece))
			tr.durations[n-1] += fr.Duration
			return err
		}
		name := filepath.Join(dir, SegmentName(i))
		if err := os.WriteFile(filepath.Join(root, name), piece, 0o644); err != nil {
			return err
		}
		tr.segments = append(tr.segments, MediaSegment{Number: i, Name: name, Start: fr.Start, Duration: fr.Duration, Frames: fr.Samples, Bytes: int64(len(piece))})
		tr.durations = append(tr.durations, fr.Duration)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var got, want int
	for _, sg := range tr.segments {
		got += sg.Frames
	}
	for _, fr := range frags {
		want += fr.Samples
	}
	if got != want {
		return nil, fmt.Errorf("%w: %d audio frames in the segments, %d in the fragments", mp4.ErrInvalid, got, want)
	}
	if err := os.WriteFile(filepath.Join(root, dir, LadderInit), init, 0o644); err != nil {
		return nil, err
	}
	return tr, nil
}

// assemble joins every rung's segments from the chunks, in order, and keeps
// one init segment per rung, which every chunk must have written alike.
func (r *ladderRun) assemble(context.Context) error {
	for i, rung := range r.rungs {
		dir := RungDir(rung)
		tr := &track{dir: dir}
		var init []byte
		for _, c := range r.chunks {
			rr := c.Rungs[i]
			b, err := os.ReadFile(filepath.Join(r.build, rr.Init))
			if err != nil {
				return err
			}
			if init == nil {
				init = b
			} else if !bytes.Equal(init, b) {
				return fmt.Errorf("%s: %w: chunk %d's initialization segment differs from chunk 0's", dir, ErrVerify, c.Index)
			}
			if err := os.Remove(filepath.Join(r.build, rr.Init)); err != nil {
				return err
			}
			tr.segments = append(tr.segments, rr.Segments...)
		}
		if err := os.WriteFile(filepath.Join(r.build, dir, LadderInit), init, 0o644); err != nil {
			return err
		}
		info, err := mp4.ReadInit(filepath.Join(r.build, dir, LadderInit))
		if err != nil {
			return err
		}
		tr.info = info
		// A segment lasts until the next one starts, on the source's
		// timeline; the last one as long as its frames.
		for k, s := range tr.segments {
			d := s.Duration
			if k+1 < len(tr.segments) {
				d = tr.segments[k+1].Start - s.Start
			} else {
				stop, err := rescale(r.plan.FrameEnd, r.plan.TimeBase, info.Timescale)
				if err != nil {
					return err
				}
				d = stop - s.Start
			}
			tr.durations = append(tr.durations, d)
		}
		r.video = append(r.video, tr)
	}
	return nil
}

// writeManifests measures every rendition and writes the media playlists,
// the master playlist and the MPD into the build directory.
// subtitlesFile is the whole WebVTT file of a subtitle rendition, which
// the MPD names; HLS names its segments.
const subtitlesFile = "subtitles.vtt"

// subtitles is one text subtitle rendition of a ladder.
type subtitles struct {
	dir, lang, name string
	playlist        manifests.Playlist
	bits            int // the whole file's mean rate, in bit/s
}

// SubtitlesDir is the directory of subtitle rendition i in a ladder.
func SubtitlesDir(i int) string { return fmt.Sprintf("subtitles%d", i) }

// convertSubtitles converts every text subtitle track to WebVTT and cuts
// it into the ladder's media segments; picture subtitles, which WebVTT
// cannot hold, are left out with a warning.
func (r *ladderRun) convertSubtitles(ctx context.Context) error {
	if _, remote := r.remoteSource(); remote {
		// ffmpeg here cannot read the source, and the backend converts
		// no subtitles where it lies.
		r.warn(fmt.Errorf("%s: subtitle streams left out of the ladder: the %s backend reads the source where it lies and converts no subtitles there yet",
			r.req.Input, r.chunkBackend.Properties().Name))
		return nil
	}
	var streams []*media.Stream
	args := []string{"-threads", "1", "-i", r.src.Path}
	var outputs []string
	vtt := media.Container{Format: "webvtt", TextSubtitle: "webvtt"}
	for _, st := range r.src.StreamsOf(media.Subtitle) {
		if _, err := vtt.SubtitleCodec(st.Codec); err != nil {
			r.warn(fmt.Errorf("subtitle stream %d left out of the ladder: %w", st.Index, err))
			continue
		}
		out := filepath.Join(r.work, fmt.Sprintf("subtitles%d.vtt", len(streams)))
		args = append(args, "-map", fmt.Sprintf("0:%d", st.Index), "-c:s", "webvtt", "-f", "webvtt", "-y", out)
		streams = append(streams, st)
		outputs = append(outputs, out)
	}
	if len(streams) == 0 {
		return nil
	}
	if err := r.p.Runner.Run(ctx, args, nil); err != nil {
		return fmt.Errorf("convert subtitles: %w", err)
	}
	// ffmpeg counts the cues' times from the container's start; the
	// ladder's presentation starts at the first video frame.
	first := r.plan.TimeBase.Seconds(r.src.Frames[0].PTS)
	shift := r.src.Start - first
	var durations []float64
	for k := range r.plan.Starts {
		a, b := r.plan.SegmentPTS(r.src.Frames, k)
		durations = append(durations, r.plan.TimeBase.Seconds(b-a))
	}
	mpegts := int64(math.Round(first * 90000))
	for i, out := range outputs {
		text, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		cues, err := manifests.ParseVTT(text)
		if err != nil {
			return fmt.Errorf("subtitle stream %d: %w", streams[i].Index, err)
		}
		var kept []manifests.Cue
		for _, c := range cues {
			c.Start, c.End = max(c.Start+shift, 0), c.End+shift
			if c.End > c.Start {
				kept = append(kept, c)
			}
		}
		st := &subtitles{dir: SubtitlesDir(i), lang: language(streams[i]), name: audioName(streams[i], i)}
		if err := os.MkdirAll(filepath.Join(r.build, st.dir), 0o755); err != nil {
			return err
		}
		whole := manifests.VTT(kept, -1)
		st.bits = int(math.Ceil(8 * float64(len(whole)) / max(r.src.VideoDuration(), 1e-3)))
		if err := os.WriteFile(filepath.Join(r.build, st.dir, subtitlesFile), whole, 0o644); err != nil {
			return err
		}
		for k, seg := range manifests.SplitCues(kept, durations) {
			name := fmt.Sprintf("seg%d.vtt", k)
			if err := os.WriteFile(filepath.Join(r.build, st.dir, name), manifests.VTT(seg, mpegts), 0o644); err != nil {
				return err
			}
			st.playlist.Segments = append(st.playlist.Segments, manifests.Segment{URI: name, Duration: durations[k]})
		}
		r.subs = append(r.subs, st)
	}
	return nil
}
