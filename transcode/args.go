package transcode

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	ffargs "github.com/u2takey/ffmpeg-go"
)

// This file holds every ffmpeg argument list the package builds: a segment's
// encode, the audio's, a ladder chunk's and a ladder's audio, and the plain
// ffmpeg runs chunkcode is measured against.

// segmentArgs builds the ffmpeg arguments for one segment encode.
func segmentArgs(job Job, extraInput []string) []string {
	p := job.Profile
	threads := p.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	in := ffargs.KwArgs{
		"ss":      FormatMicros(job.SeekMicros),
		"threads": strconv.Itoa(threads),
	}
	if !job.RotatePixels {
		in["noautorotate"] = ""
	}
	var vf []string
	if job.PrerollMicros > 0 {
		// Decode from earlier and cut at the first frame's own timestamp,
		// which -copyts leaves as the source has it.
		in["ss"] = FormatMicros(job.SeekMicros - job.PrerollMicros)
		in["copyts"] = ""
		vf = append(vf, fmt.Sprintf("trim=start_pts=%d", job.StartPTS), "setpts=PTS-STARTPTS")
	}
	out := ffargs.KwArgs{
		"map":      fmt.Sprintf("0:%d", job.StreamIndex),
		"frames:v": strconv.Itoa(job.Frames),
		"fps_mode": "passthrough",
		// The encoder keeps the source's time base; its default, one
		// tick per frame of the nominal rate, would round variable frame
		// rate timestamps to a constant rate.
		"enc_time_base:v": "-1",
		"an":              "",
		"sn":              "",
		"dn":              "",
		"map_metadata":    "-1",
		"map_chapters":    "-1",
		"f":               "mp4",
		"y":               "",
	}
	maps.Copy(out, encoderOptions(p, threads))
	if bsf := rateFilter(p.Codec, job.FrameRate); bsf != "" {
		out["bsf:v"] = bsf
	}
	if job.TimeScale > 0 {
		out["video_track_timescale"] = strconv.FormatInt(job.TimeScale, 10)
	}
	if f := scaleFilter(p.Height, job.Rotation, job.RotatePixels); f != "" {
		vf = append(vf, f)
	}
	if len(vf) > 0 {
		out["vf"] = strings.Join(vf, ",")
	}
	stream := ffargs.Input(job.Source, in).Output(job.Output, out)
	args := stream.GetArgs()
	if len(extraInput) > 0 {
		// Input options go before the -i that opens the source.
		for i, a := range args {
			if a == "-i" {
				args = append(append(append([]string{}, args[:i]...), extraInput...), args[i:]...)
				break
			}
		}
	}
	return args
}

// encoderOptions returns the output options that choose p's video encoder
// and its settings. threads > 0 limits the encoder to that many threads; 0
// leaves the count to the encoder, as a plain ffmpeg run does.
func encoderOptions(p Profile, threads int) ffargs.KwArgs {
	out := ffargs.KwArgs{
		"c:v": p.Codec.Encoder(),
		"crf": strconv.Itoa(p.Quality()),
	}
	if threads > 0 {
		out["threads"] = strconv.Itoa(threads)
	}
	switch p.Codec {
	case media.H264:
		// stitchable keeps headers identical across separately encoded
		// segments, so they join with a stream copy.
		out["x264-params"] = "stitchable=1"
		if p.Preset != "" {
			out["preset"] = p.Preset
		}
	case media.H265:
		out["x265-params"] = "log-level=error"
		if threads > 0 {
			out["x265-params"] = fmt.Sprintf("log-level=error:pools=%d:frame-threads=%d", threads, min(threads, 16))
		}
		out["tag:v"] = "hvc1"
		if p.Preset != "" {
			out["preset"] = p.Preset
		}
	case media.VP9:
		out["b:v"] = "0" // constant quality
		out["row-mt"] = "1"
		if p.Preset != "" {
			out["cpu-used"] = p.Preset
		}
	case media.AV1:
		if threads > 0 {
			out["svtav1-params"] = fmt.Sprintf("lp=%d", threads)
		}
		if p.Preset != "" {
			out["preset"] = p.Preset
		}
	}
	return out
}

// rateFilter returns the bitstream filter that declares rate, a frame rate
// as Job.FrameRate holds it, in the stream headers of codec, or "" when none
// is needed or rate is unknown. x264 declares the encoder's time base as the
// stream's frame rate; the source's time base, which keeps its exact
// timestamps, makes that thousands of frames a second, which ffmpeg reads as
// no rate at all. Its MP4 and MOV demuxer takes the duration of reordered
// frames (B-frames) from that rate, so every packet would have none and the
// video would seem a frame short.
func rateFilter(codec media.Codec, rate string) string {
	if codec != media.H264 || !validRate(rate) {
		return ""
	}
	r, _ := media.ParseRational(rate)
	// The tick is half a frame: H.264 counts fields.
	return fmt.Sprintf("h264_metadata=tick_rate=%d/%d", 2*r.Num, r.Den)
}

// scaleFilter returns the video filter that scales to a displayed height,
// keeping the aspect ratio and even dimensions. When a 90-degree rotation is
// carried as metadata, the displayed height is the coded width.
func scaleFilter(height, rotation int, rotatePixels bool) string {
	if height <= 0 {
		return ""
	}
	if !rotatePixels && (rotation == 90 || rotation == -90) {
		return fmt.Sprintf("scale=%d:-2", height)
	}
	return fmt.Sprintf("scale=-2:%d", height)
}

// FormatMicros formats a microsecond count as seconds for ffmpeg.
func FormatMicros(us int64) string {
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

// AudioArgs are the ffmpeg arguments that encode every audio track of src,
// read from src.Path with inputOptions before it, into out, as prof says.
// The pipeline runs them locally; a backend that reads the source for the
// pipeline (see SourceReader) runs them where the source is.
func AudioArgs(src *media.Media, prof Profile, out string, inputOptions ...string) []string {
	args := append([]string{"-threads", "1"}, inputOptions...)
	args = append(args, "-i", src.Path)
	for _, a := range src.StreamsOf(media.Audio) {
		args = append(args, "-map", fmt.Sprintf("0:%d", a.Index))
	}
	args = append(args, "-vn", "-sn", "-dn", "-map_chapters", "-1",
		"-c:a", prof.AudioCodec.Encoder(), "-strict", "experimental")
	if prof.AudioBitrate != "" {
		args = append(args, "-b:a", prof.AudioBitrate)
	}
	// MP4 records the encoder's priming samples in an edit list, so the
	// audio stays in sync; Matroska would shift it by the priming.
	return append(args, "-f", prof.AudioCodec.Format(), "-y", out)
}

// BaselineArgs returns the arguments of one plain ffmpeg process that
// encodes src to output with the settings chunkcode's segment encodes use:
// the same encoder and encoder options, scale filter, frame timing and audio
// codec, over the whole file at once. It is what chunkcode's speed is
// measured against. p is validated for output's container first. Thread
// counts are left to the encoders, as when ffmpeg is run by hand.
func BaselineArgs(src *media.Media, p Profile, output string) ([]string, error) {
	container, err := media.ContainerFor(output)
	if err != nil {
		return nil, err
	}
	p = p.WithDefaults(container)
	if err := p.Check(container, output); err != nil {
		return nil, err
	}
	if src.Video == nil {
		return nil, &media.Error{Path: src.Path, Err: media.ErrNoVideo}
	}
	rotatePixels := rotatesPixels(src.Video, container)
	in := ffargs.KwArgs{}
	if !rotatePixels {
		in["noautorotate"] = ""
	}
	maps := []string{fmt.Sprintf("0:%d", src.Video.Index)}
	for _, a := range src.StreamsOf(media.Audio) {
		maps = append(maps, fmt.Sprintf("0:%d", a.Index))
	}
	out := encoderOptions(p, 0)
	out["map"] = maps
	out["fps_mode"] = "passthrough"
	out["enc_time_base:v"] = "-1"
	if bsf := rateFilter(p.Codec, src.Video.FrameRate); bsf != "" {
		out["bsf:v"] = bsf
	}
	out["sn"] = ""
	out["dn"] = ""
	out["f"] = container.Format
	out["y"] = ""
	if f := scaleFilter(p.Height, src.Video.Rotation, rotatePixels); f != "" {
		out["vf"] = f
	}
	if len(maps) > 1 {
		if p.AudioCodec == media.AudioCopy {
			out["c:a"] = "copy"
		} else {
			out["c:a"] = p.AudioCodec.Encoder()
			out["strict"] = "experimental"
			if p.AudioBitrate != "" {
				out["b:a"] = p.AudioBitrate
			}
		}
	}
	if container.Faststart {
		out["movflags"] = "+faststart" // as the merge writes them
	}
	return ffargs.Input(src.Path, in).Output(output, out).GetArgs(), nil
}

// cmafFlags are the mp4 muxer's flags for CMAF: fragments that start at
// keyframes, no sample in the moov, data offsets from the moof, signed
// composition offsets so the first frame is presented at the fragment's
// decode time (players that ignore edit lists, such as hls.js, then show
// the video on time), and decode times carried over from the timestamps.
const cmafFlags = "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets+frag_discont"

// chunkArgs returns the arguments of the one ffmpeg process that decodes
// job's frames and encodes them to every rung, rung i into outputs[i].
func chunkArgs(job ChunkJob, outputs []string, extraInput []string) []string {
	p := job.Profile
	threads := p.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	args := []string{"-threads", strconv.Itoa(threads)}
	args = append(args, extraInput...)
	args = append(args, "-ss", FormatMicros(job.SeekMicros))
	var pre []string
	if job.PrerollMicros > 0 {
		args[len(args)-1] = FormatMicros(job.SeekMicros - job.PrerollMicros)
		args = append(args, "-copyts")
		pre = append(pre, fmt.Sprintf("trim=start_pts=%d", job.StartPTS), "setpts=PTS-STARTPTS")
	}
	args = append(args, "-i", job.Source)

	// Decode once, split, then scale each copy to its rung. Pictures are
	// turned upright, so the displayed size is the coded one.
	var graph strings.Builder
	fmt.Fprintf(&graph, "[0:%d]", job.StreamIndex)
	for _, f := range pre {
		graph.WriteString(f + ",")
	}
	fmt.Fprintf(&graph, "split=%d", len(job.Rungs))
	for i := range job.Rungs {
		fmt.Fprintf(&graph, "[s%d]", i)
	}
	for i, r := range job.Rungs {
		fmt.Fprintf(&graph, ";[s%d]scale=%d:%d,setsar=1[v%d]", i, r.Width, r.Height, i)
	}
	args = append(args, "-filter_complex", graph.String())

	keys := make([]string, len(job.KeyFrames))
	for i, k := range job.KeyFrames {
		keys[i] = fmt.Sprintf("eq(n,%d)", k)
	}
	for i, r := range job.Rungs {
		opts := encoderOptions(p, threads)
		opts["maxrate"] = fmt.Sprintf("%dk", r.MaxrateKbps)
		opts["bufsize"] = fmt.Sprintf("%dk", r.BufsizeKbps)
		// Keyframes exactly on the media segments' first frames, closed
		// GOPs, and none anywhere else, so every rung has the same
		// keyframes.
		opts["force_key_frames"] = "expr:" + strings.Join(keys, "+")
		opts["g"] = strconv.Itoa(job.Frames + 1)
		opts["sc_threshold"] = "0"
		switch p.Codec {
		case media.H264:
			opts["x264-params"] = "stitchable=1:open-gop=0"
			opts["forced-idr"] = "1"
		case media.H265:
			opts["x265-params"] = opts["x265-params"].(string) + ":open-gop=0:scenecut=0"
			opts["forced-idr"] = "1"
		}
		if bsf := rateFilter(p.Codec, job.FrameRate); bsf != "" {
			opts["bsf:v"] = bsf
		}
		if job.TimeScale > 0 {
			opts["video_track_timescale"] = strconv.FormatInt(job.TimeScale, 10)
		}
		out := []string{
			"-map", fmt.Sprintf("[v%d]", i),
			"-frames:v", strconv.Itoa(job.Frames),
			"-fps_mode", "passthrough",
			"-enc_time_base:v", "-1",
		}
		for _, k := range slices.Sorted(maps.Keys(opts)) {
			out = append(out, "-"+k, opts[k].(string))
		}
		out = append(out, "-an", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
			"-fflags", "+bitexact", "-movflags", cmafFlags, "-f", "mp4", "-y", outputs[i])
		args = append(args, out...)
	}
	return args
}

// LadderAudioArgs are the arguments of the ffmpeg process that encodes
// every audio track of src to AAC-LC in CMAF, track i into outputs[i],
// fragmented every length, with the source's timestamps.
func LadderAudioArgs(src *media.Media, prof Profile, length time.Duration, outputs []string) []string {
	args := []string{"-threads", "1", "-i", src.Path}
	for i, a := range src.StreamsOf(media.Audio) {
		args = append(args, "-map", fmt.Sprintf("0:%d", a.Index), "-vn", "-sn", "-dn",
			"-c:a", "aac", "-profile:a", "aac_low", "-b:a", prof.AudioBitrate,
			"-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
			// ffmpeg starts the input at 0; this puts it back where the
			// source has it, as the video's segments are.
			"-output_ts_offset", FormatMicros(int64(math.Round(src.Start*1e6))),
			"-movflags", cmafFlags, "-frag_duration", fmt.Sprint(length.Microseconds()),
			"-f", "mp4", "-y", outputs[i])
	}
	return args
}

// LadderBaselineArgs returns the arguments of one plain ffmpeg process that
// makes the same ladder as a run with p, rungs and segment length: the
// efficient way by hand, one decode split to one encoder per rung, with a
// keyframe every length, and the audio, written by ffmpeg's hls muxer as
// CMAF under dir. It is what a ladder's speed is measured against; thread
// counts are left to the encoders.
func LadderBaselineArgs(src *media.Media, rungs []ladder.Rung, p Profile, length time.Duration, dir string) []string {
	args := []string{"-i", src.Path}
	var graph strings.Builder
	fmt.Fprintf(&graph, "[0:%d]split=%d", src.Video.Index, len(rungs))
	for i := range rungs {
		fmt.Fprintf(&graph, "[s%d]", i)
	}
	for i, r := range rungs {
		fmt.Fprintf(&graph, ";[s%d]scale=%d:%d,setsar=1[v%d]", i, r.Width, r.Height, i)
	}
	args = append(args, "-filter_complex", graph.String())
	var streams []string
	for i, r := range rungs {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i),
			fmt.Sprintf("-maxrate:v:%d", i), fmt.Sprintf("%dk", r.MaxrateKbps),
			fmt.Sprintf("-bufsize:v:%d", i), fmt.Sprintf("%dk", r.BufsizeKbps))
		streams = append(streams, fmt.Sprintf("v:%d", i))
	}
	args = append(args, rungBaselineVideo(p, length)...)
	if audio := src.StreamsOf(media.Audio); len(audio) > 0 {
		args = append(args, "-map", fmt.Sprintf("0:%d", audio[0].Index), "-c:a", "aac", "-b:a", p.AudioBitrate)
		for i := range streams {
			streams[i] += ",agroup:audio"
		}
		streams = append(streams, "a:0,agroup:audio")
	}
	return append(args, "-f", "hls", "-hls_time", strconv.FormatFloat(length.Seconds(), 'f', -1, 64),
		"-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-master_pl_name", "master.m3u8",
		"-var_stream_map", strings.Join(streams, " "),
		"-hls_segment_filename", filepath.Join(dir, "v%v", "seg%d.m4s"), "-y", filepath.Join(dir, "v%v", "index.m3u8"))
}

// RungBaselineArgs returns the arguments of one plain ffmpeg process that
// makes the video of one rung of the ladder LadderBaselineArgs makes, as
// scripts that run one process per rung do. The audio, which such scripts
// encode once more with every rung, is left out, so the rung's bytes
// compare with the other ways'.
func RungBaselineArgs(src *media.Media, rung ladder.Rung, p Profile, length time.Duration, dir string) []string {
	args := []string{"-i", src.Path, "-map", fmt.Sprintf("0:%d", src.Video.Index),
		"-vf", fmt.Sprintf("scale=%d:%d,setsar=1", rung.Width, rung.Height),
		"-maxrate", fmt.Sprintf("%dk", rung.MaxrateKbps), "-bufsize", fmt.Sprintf("%dk", rung.BufsizeKbps)}
	args = append(args, rungBaselineVideo(p, length)...)
	return append(args, "-f", "hls", "-hls_time", strconv.FormatFloat(length.Seconds(), 'f', -1, 64),
		"-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
		"-hls_segment_filename", filepath.Join(dir, "seg%d.m4s"), "-y", filepath.Join(dir, "index.m3u8"))
}

// rungBaselineVideo are the video encoder options of the baselines: the
// ladder's encoder and CRF, a keyframe every length and no other.
func rungBaselineVideo(p Profile, length time.Duration) []string {
	args := []string{"-c:v", p.Codec.Encoder(), "-crf", strconv.Itoa(p.Quality()),
		"-force_key_frames", fmt.Sprintf("expr:gte(t,n_forced*%g)", length.Seconds()), "-sc_threshold", "0"}
	if p.Preset != "" {
		args = append(args, "-preset", p.Preset)
	}
	return args
}
