package lambda

import "fmt"

// Arch is a function's instruction set architecture, spelled as AWS spells
// it. The zero Arch is unknown.
type Arch string

// The architectures Lambda runs.
const (
	ARM64  Arch = "arm64"
	X86_64 Arch = "x86_64"
)

// ParseArch reads an architecture in AWS's spelling or Go's: arm64 or
// aarch64 is ARM64, x86_64 or amd64 is X86_64, and "" is the zero Arch.
func ParseArch(s string) (Arch, error) {
	switch s {
	case "":
		return "", nil
	case "arm64", "aarch64":
		return ARM64, nil
	case "x86_64", "amd64":
		return X86_64, nil
	}
	return "", fmt.Errorf("unknown architecture %q (want arm64, or x86_64 also spelled amd64)", s)
}

// GoArch is the GOARCH of a binary for a: amd64 for X86_64, else arm64,
// chunkcode's default architecture.
func (a Arch) GoArch() string {
	if a == X86_64 {
		return "amd64"
	}
	return "arm64"
}
