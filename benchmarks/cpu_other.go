//go:build !unix

package benchmarks

// cpuSeconds returns 0: resource usage is read only on Unix systems.
func cpuSeconds() float64 { return 0 }
