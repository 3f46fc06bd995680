package media

// FrameRates returns the video's average frame rate, its frame count over
// its duration, and its peak rate, that of the shortest interval between
// two frames, in frames per second. They differ for variable frame rate
// video (see VFR); both are 0 without frames, and peak is also 0 with one
// frame, or only frames at the same time.
func (m *Media) FrameRates() (average, peak float64) {
	if d := m.VideoDuration(); d > 0 {
		average = float64(len(m.Frames)) / d
	}
	var shortest int64
	for i := 1; i < len(m.Frames); i++ {
		if d := m.Frames[i].PTS - m.Frames[i-1].PTS; d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	if shortest > 0 {
		peak = 1 / m.Video.TimeBase.Seconds(shortest)
	}
	return average, peak
}
