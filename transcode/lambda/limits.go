package lambda

import (
	"fmt"

	"github.com/chunkcode/chunkcode/transcode"
)

// Limits of one segment job on the function, from what one function can do
// before Lambda stops it at 15 minutes, on at most 6 vCPUs and 10,240 MB. A
// job above them is refused with KindLimit, which is not retried: it could
// not finish, and each attempt would be billed up to the timeout.
//
// The budget is pixels decoded and encoded. On one core of the Xeon the
// tests run on, decoding H.264 and encoding with x264 ultrafast, the
// fastest setting of the fastest encoder, moved about 250 million pixels a
// second (1080p at 140 fps; 320x240 at 2,900 fps). Six vCPUs for 900 s at
// that rate make 6 × 250e6 × 900 ≈ 1.35e12 pixels: MaxJobPixelFrames. Every
// other preset and codec is slower, so a job beyond it cannot finish at any
// setting. The handler holds a job to it by telling ffmpeg's decoder the
// largest picture the job's frames leave room for (-max_pixels), so that a
// source with larger pictures fails on its first frame.
const (
	// MaxJobPixelFrames bounds frames × pixels per picture of one job.
	MaxJobPixelFrames = 1_350_000_000_000
	// MaxJobFrames is MaxJobPixelFrames at 720p (921,600 pixels), the
	// smallest common size, rounded down: 1.46 million frames, 13.5 hours
	// at 30 fps. The pipeline's segments are seconds long.
	MaxJobFrames = 1_000_000
	// MaxJobPixels is the largest input picture, 8K DCI (8192x4320): one
	// 8-bit 4:2:0 frame is 53 MB, and x264's lookahead and reference
	// frames at that size already take a few GB of the 10 GB.
	MaxJobPixels = 8192 * 4320
	// MaxJobHeight is the largest output height, 4320 (8K); the width
	// follows the input's shape, which MaxJobPixels bounds.
	MaxJobHeight = 4320
	// MaxJobThreads is the most threads one encode may ask for: a
	// function has at most 6 vCPUs, encoders gain nothing beyond about
	// two threads a core, and every frame thread holds pictures in memory.
	MaxJobThreads = 16
)

// checkLimits refuses a job above the limits with KindLimit.
func checkLimits(job transcode.Job) *FunctionError {
	var msg string
	switch p := job.Profile; {
	case job.Frames > MaxJobFrames:
		msg = fmt.Sprintf("job frames %d above the function's limit of %d", job.Frames, MaxJobFrames)
	case p.Height > MaxJobHeight:
		msg = fmt.Sprintf("output height %d above the function's limit of %d", p.Height, MaxJobHeight)
	case p.Threads > MaxJobThreads:
		msg = fmt.Sprintf("threads %d above the function's limit of %d", p.Threads, MaxJobThreads)
	default:
		return nil
	}
	return &FunctionError{Kind: KindLimit, Message: msg + " (one function invocation runs at most 15 minutes)"}
}

// maxPixels is the largest picture a job of frames frames may decode:
// its share of MaxJobPixelFrames, at most MaxJobPixels.
func maxPixels(frames int) int64 {
	if frames <= 0 {
		return MaxJobPixels
	}
	return min(MaxJobPixels, MaxJobPixelFrames/int64(frames))
}
