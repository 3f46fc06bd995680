package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// needsSeekable is why INPUT and OUTPUT must be regular files: the input
// is read once per segment, each from its own start, and the output is
// written beside itself and renamed into place.
const needsSeekable = "chunked encoding needs a seekable file"

// descriptorPaths name a file descriptor of the process that opens them,
// which the ffmpeg processes chunkcode starts do not share.
var descriptorPaths = []string{"/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"}

// checkOperandNames refuses, as a usage error, an INPUT or OUTPUT that is
// standard input or output by name: "-", /dev/stdin and the like.
func checkOperandNames(in, out string) error {
	for _, op := range []struct{ name, path, std string }{{"INPUT", in, "standard input"}, {"OUTPUT", out, "standard output"}} {
		if op.path == "-" {
			return usagef("%s -: %s, not %s", op.name, needsSeekable, op.std)
		}
		if abs, err := filepath.Abs(op.path); err == nil && isDescriptorPath(abs) {
			return usagef("%s: %s, not a file descriptor", op.path, needsSeekable)
		}
	}
	return nil
}

func isDescriptorPath(abs string) bool {
	for _, p := range descriptorPaths {
		if abs == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(abs, p)) {
			return true
		}
	}
	return false
}

// checkSeekable refuses an input that is there but is not a regular file,
// such as a named pipe or a device, and an output that is one or would be
// created in /dev. A missing input is left for the pipeline to report.
func checkSeekable(in, out string) error {
	if fi, err := os.Stat(in); err == nil && !fi.IsDir() && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %s, not %s", in, needsSeekable, fileKind(fi.Mode()))
	}
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %s, not %s", out, needsSeekable, fileKind(fi.Mode()))
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(out)); err == nil {
		if abs, err := filepath.Abs(dir); err == nil && abs == "/dev" {
			return fmt.Errorf("%s: %s; /dev holds devices", out, needsSeekable)
		}
	}
	return nil
}

// fileKind names a file type that is not a regular file or a directory.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}
