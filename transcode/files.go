package transcode

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chunkcode/chunkcode/internal/atomicfile"
)

// errLocked means another process holds a lock.
var errLocked = errors.New("locked")

// writeFileSync replaces path with data durably, through a temporary file
// beside it.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := atomicfile.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// tempOutput is the temporary file a run writes its output to, beside the
// output so the finished file is renamed into place on the same file system.
// It is locked while the run lives, so a later run can tell a leftover of a
// killed run from the file of one still running.
type tempOutput struct {
	path string
	f    *os.File
}

// tempPattern is the prefix of out's temporary files. It is absolute, so
// that ffmpeg never reads it as an option or a URL.
func tempPattern(out string) string {
	if abs, err := filepath.Abs(out); err == nil {
		out = abs
	}
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".chunkcode-")
}

// createTempOutput creates an empty, locked temporary file for out. Its mode
// is 0666 less the umask, as a file the user's own programs create.
func createTempOutput(out string) (*tempOutput, error) {
	for range 100 {
		var b [6]byte
		rand.Read(b[:])
		path := tempPattern(out) + hex.EncodeToString(b[:])
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: cannot write the output: %w", out, unwrapPathError(err))
		}
		if err := lockFile(f); err != nil {
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("lock temporary output: %w", err)
		}
		return &tempOutput{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("%s: cannot create a temporary output beside it", out)
}

// commit moves the finished temporary file to out durably. An existing out
// is replaced whole, and its permissions carry over.
func (t *tempOutput) commit(out string) error {
	if err := t.f.Sync(); err != nil { // the same file ffmpeg wrote through its name
		return fmt.Errorf("sync output: %w", err)
	}
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		if err := os.Chmod(t.path, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("set output mode: %w", err)
		}
	}
	if err := os.Rename(t.path, out); err != nil {
		return fmt.Errorf("rename output into place: %w", err)
	}
	t.path = ""
	return atomicfile.SyncDir(filepath.Dir(out))
}

// remove deletes the temporary file unless it was committed, and unlocks it.
func (t *tempOutput) remove() {
	if t.path != "" {
		os.Remove(t.path)
	}
	t.f.Close()
}

// removeLeftovers deletes out's temporary files that killed runs left: those
// no live run holds locked.
func removeLeftovers(out string) {
	matches, _ := filepath.Glob(tempPattern(out) + "*")
	for _, path := range matches {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && lockFile(f) == nil {
			os.Remove(path)
		}
		f.Close()
	}
}

// lockDir takes the exclusive lock of dir, held until the returned file is
// closed.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
