//go:build unix

package benchmarks

import "syscall"

// cpuSeconds returns the user and system time used so far by this process
// and by the children it has waited for. Every ffmpeg a run starts is waited
// for before the run ends, so the difference across a run is the CPU time of
// chunkcode and its children during it.
func cpuSeconds() float64 {
	total := 0.0
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			return 0
		}
		total += tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return total
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}
