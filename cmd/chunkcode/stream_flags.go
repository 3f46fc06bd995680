package main

import (
	"slices"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/spf13/pflag"
)

// ladderOptions are the flags of a streaming ladder, an OUTPUT ending in
// .m3u8 (HLS) or .mpd (DASH).
type ladderOptions struct {
	ladder        string
	segmentLength string
	manifests     string
	set           []string // the ladder flags given, for changed
}

// changed records which ladder flags fs has set, for request to refuse
// them with an OUTPUT that is not a ladder.
func (o *ladderOptions) changed(fs *pflag.FlagSet) {
	var ladderFlags pflag.FlagSet
	(&ladderOptions{}).AddFlags(&ladderFlags)
	o.set = nil
	ladderFlags.VisitAll(func(f *pflag.Flag) {
		if fs.Changed(f.Name) {
			o.set = append(o.set, f.Name)
		}
	})
}

func (o *ladderOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.ladder, "ladder", "auto", "for .m3u8/.mpd: rung heights, such as 1080,720,480, or HEIGHTxKBPS items (720x3000) to set a rung's maxrate; auto takes Apple's 16:9 ladder up to the source's height")
	f.StringVar(&o.segmentLength, "segment-length", "", "for .m3u8/.mpd: media segment length, with a keyframe at every segment start on every rung (default 6s)")
	f.StringVar(&o.manifests, "manifests", "", "for .m3u8/.mpd: hls, dash or hls,dash, all over one set of CMAF segments (default OUTPUT's kind)")
}

// request fills in req's ladder fields. For an OUTPUT that is not a
// ladder, a ladder flag given (see changed) is a usage error.
func (o *ladderOptions) request(req *transcode.Request) error {
	if !transcode.IsLadder(req.Output) {
		if len(o.set) > 0 {
			return usagef("--%s needs an OUTPUT ending in .m3u8 (HLS) or .mpd (DASH)", o.set[0])
		}
		return nil
	}
	if req.Resume {
		return usagef("--resume does not apply to a ladder yet")
	}
	if o.ladder != "auto" {
		rungs, err := ladder.Parse(o.ladder)
		if err != nil {
			return usagef("--ladder: %v", err)
		}
		req.Ladder = rungs
	}
	if o.segmentLength != "" {
		d, err := parseDuration(o.segmentLength)
		if err != nil {
			return usagef("--segment-length: %v", err)
		}
		if d < 100*time.Millisecond {
			return usagef("--segment-length: %q is shorter than 0.1s", o.segmentLength)
		}
		req.SegmentLength = d
	}
	if o.manifests != "" {
		for item := range strings.SplitSeq(o.manifests, ",") {
			k := strings.ToLower(strings.TrimSpace(item))
			if k != transcode.HLS && k != transcode.DASH {
				return usagef("--manifests: %q is neither hls nor dash", item)
			}
			if !slices.Contains(req.Manifests, k) {
				req.Manifests = append(req.Manifests, k)
			}
		}
		ext := strings.ToLower(req.Output[strings.LastIndex(req.Output, "."):])
		if want := map[string]string{".m3u8": transcode.HLS, ".mpd": transcode.DASH}[ext]; !slices.Contains(req.Manifests, want) {
			return usagef("--manifests %s leaves out the %s OUTPUT names", o.manifests, want)
		}
	}
	return nil
}
