package merger

import (
	"context"

	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
)

// Args returns the ffmpeg arguments Merge runs with r for spec, for showing
// them. Like Merge, it writes the concat list of spec.Pieces into
// spec.WorkDir (ConcatList names it), which the arguments read.
func Args(ctx context.Context, r ffmpeg.Runner, spec Spec) ([]string, error) {
	return mergeArgs(ctx, r, spec)
}

// ConcatList is the name of the concat list Merge and Args write in
// Spec.WorkDir.
const ConcatList = "concat.txt"
