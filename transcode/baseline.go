package transcode

import (
	"fmt"

	"github.com/chunkcode/chunkcode/transcode/media"
	ffargs "github.com/u2takey/ffmpeg-go"
)

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
	rotatePixels := src.Video.Rotation != 0 && !container.Rotation
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
