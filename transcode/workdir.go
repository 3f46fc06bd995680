package transcode

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/splitter"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/mp4"
)

// Errors about a work directory.
var (
	// ErrNotWorkDir means a --work-dir holds files chunkcode did not make.
	ErrNotWorkDir = errors.New("not a chunkcode work directory")
	// ErrWorkDirBusy means another run holds the work directory.
	ErrWorkDirBusy = errors.New("work directory is in use by another chunkcode run")
)

// manifestFile records, in a work directory, what chunkcode made there.
const manifestFile = "chunkcode-work.json"

// manifest is what a work directory holds: every file chunkcode may create
// there, named before it is created, and what they were made from. Only
// files it lists are ever removed.
type manifest struct {
	Tool        string      `json:"tool"`
	Version     int         `json:"version"`
	Fingerprint fingerprint `json:"fingerprint"`
	Files       []string    `json:"files"`
	// Audio is the encoded audio once it is complete and on disk.
	Audio *doneFile `json:"audio,omitempty"`
}

// doneFile is a finished file: its name in the work directory and size.
type doneFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

const manifestVersion = 1

// fingerprint identifies the input and settings a work directory belongs to.
type fingerprint struct {
	Input   string    `json:"input"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	// Content hashes the input's first and last MiB and its packet index,
	// so a file replaced by another of the same size and time is told
	// apart.
	Content  string             `json:"content,omitempty"`
	Profile  Profile            `json:"profile"`
	Segments []splitter.Segment `json:"segments"`
}

// mismatch says in a few words how have differs from fp, or "" if it does
// not.
func (fp fingerprint) mismatch(have fingerprint) string {
	switch {
	case fp.Input != have.Input:
		return "the input is another file"
	case fp.Size != have.Size || !fp.ModTime.Equal(have.ModTime) || fp.Content != have.Content:
		return "the input has changed"
	case !fp.Profile.Equal(have.Profile):
		return "the settings have changed"
	case !slices.Equal(fp.Segments, have.Segments):
		return "the segment plan has changed"
	}
	return ""
}

// workDir is the directory a run keeps its intermediates in, locked for that
// run alone.
type workDir struct {
	dir string
	// remove says the directory was made for this run and is not kept:
	// close removes it.
	remove bool
	lock   *os.File
	m      manifest
	// stale says why segments from an earlier run cannot be reused, ""
	// when there were none or they can.
	stale string
	// reusable reports that the directory was made for this input, these
	// settings and this plan.
	reusable bool
}

// openWorkDir prepares the directory for intermediates. req.WorkDir, when
// set, must be new, empty or a work directory chunkcode made, and is locked
// for this run: a second run on it fails at once. A work directory made for
// another input, other settings or another plan is cleared of the files its
// manifest lists, and only those. A remote input is known by its URL and
// plan alone.
func openWorkDir(req Request, remote bool, src *media.Media, plan *splitter.Plan, audioName string) (*workDir, error) {
	fp, err := newFingerprint(req, remote, src, plan)
	if err != nil {
		return nil, err
	}
	w := &workDir{}
	if req.WorkDir == "" {
		if w.dir, err = os.MkdirTemp("", "chunkcode-"); err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
		w.remove = !req.Keep
	} else {
		if w.dir, err = filepath.Abs(req.WorkDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(w.dir, 0o755); err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
	}
	if strings.ContainsAny(w.dir, "\n\r") {
		w.close()
		return nil, fmt.Errorf("%s: work directory name holds a line break", req.WorkDir)
	}
	if w.lock, err = lockDir(w.dir); err != nil {
		w.close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%s: %w", w.dir, ErrWorkDirBusy)
		}
		return nil, fmt.Errorf("lock work directory %s: %w", w.dir, err)
	}
	if err := w.adopt(req, fp); err != nil {
		w.close()
		return nil, err
	}
	w.m = manifest{Tool: "chunkcode", Version: manifestVersion, Fingerprint: fp, Files: plannedFiles(plan, audioName), Audio: w.m.Audio}
	if err := w.save(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// adopt reads the manifest an earlier run left and decides what of its
// files this run may reuse, removing the ones it may not.
func (w *workDir) adopt(req Request, fp fingerprint) error {
	data, err := os.ReadFile(filepath.Join(w.dir, manifestFile))
	if errors.Is(err, os.ErrNotExist) {
		entries, err := os.ReadDir(w.dir)
		if err != nil {
			return fmt.Errorf("read work directory: %w", err)
		}
		for _, e := range entries {
			switch {
			case strings.HasPrefix(filepath.Join(w.dir, e.Name()), tempPattern(req.Output)):
				continue // this run's temporary output, when OUTPUT is in the directory
			case e.Name() == manifestFile+".tmp":
				continue // a manifest whose first save was cut short
			}
			return fmt.Errorf("%s: %w: it holds %s, which chunkcode did not make; use a new or empty directory",
				w.dir, ErrNotWorkDir, e.Name())
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read work directory manifest: %w", err)
	}
	var old manifest
	if err := json.Unmarshal(data, &old); err != nil || old.Tool != "chunkcode" {
		return fmt.Errorf("%s: %w: %s is not chunkcode's", w.dir, ErrNotWorkDir, manifestFile)
	}
	if old.Version == manifestVersion {
		if w.stale = fp.mismatch(old.Fingerprint); w.stale == "" {
			w.reusable = true
			w.m.Audio = old.Audio
			return nil
		}
	} else {
		w.stale = "it was made by another version of chunkcode"
	}
	// Remove what the earlier run listed, never the input or output even
	// if they carry such a name.
	keep := []string{req.Input, req.Output}
	for _, name := range old.Files {
		if name != filepath.Base(name) || name == manifestFile {
			continue // a manifest names files in the directory only
		}
		path := filepath.Join(w.dir, name)
		if sameAsAny(path, keep) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clear work directory: %w", err)
		}
	}
	return nil
}

// sameAsAny reports whether path is the same file as one of paths.
func sameAsAny(path string, paths []string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	for _, p := range paths {
		if pi, err := os.Stat(p); err == nil && os.SameFile(fi, pi) {
			return true
		}
	}
	return false
}

// plannedFiles lists every file a run of plan may create in its work
// directory.
func plannedFiles(plan *splitter.Plan, audioName string) []string {
	var files []string
	for _, s := range plan.Segments {
		files = append(files, segmentName(s.Index), partName(segmentName(s.Index)))
	}
	if audioName != "" {
		files = append(files, audioName, audioName+".part")
	}
	return append(files, "concat.txt")
}

// save writes the manifest durably: to a temporary file, synced, renamed.
func (w *workDir) save() error {
	data, err := json.MarshalIndent(w.m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(w.dir, manifestFile), data); err != nil {
		return fmt.Errorf("write work directory manifest: %w", err)
	}
	return nil
}

// path returns the path of the work directory's file name.
func (w *workDir) path(name string) string { return filepath.Join(w.dir, name) }

// audioDone reports whether the audio at name was finished by an earlier run
// for the same input and settings, and is still whole.
func (w *workDir) audioDone(name string) bool {
	a := w.m.Audio
	if !w.reusable || a == nil || a.Name != name {
		return false
	}
	fi, err := os.Stat(w.path(name))
	return err == nil && fi.Size() == a.Size
}

// markAudio records that the audio at name is complete and synced.
func (w *workDir) markAudio(name string) error {
	fi, err := os.Stat(w.path(name))
	if err != nil {
		return err
	}
	w.m.Audio = &doneFile{Name: name, Size: fi.Size()}
	return w.save()
}

// segmentDone reports whether job's output already exists with the planned
// frame count.
func segmentDone(job Job) bool {
	n, err := mp4.VideoFrames(job.Output)
	return err == nil && n == job.Frames
}

// close unlocks the directory and removes it if it was made for this run and
// is not kept.
func (w *workDir) close() {
	if w.lock != nil {
		w.lock.Close()
	}
	if w.remove {
		os.RemoveAll(w.dir)
	}
}

// newFingerprint fingerprints req's input, settings and plan.
func newFingerprint(req Request, remote bool, src *media.Media, plan *splitter.Plan) (fingerprint, error) {
	prof := req.Profile
	prof.Threads = 0 // threads change how fast, not what, a segment encodes
	fp := fingerprint{Input: req.Input, Profile: prof, Segments: plan.Segments}
	if remote {
		return fp, nil
	}
	fp.Input, _ = filepath.Abs(req.Input)
	f, err := os.Open(req.Input)
	if err != nil {
		return fp, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fp, err
	}
	fp.Size, fp.ModTime = fi.Size(), fi.ModTime().UTC()
	h := sha256.New()
	const mib = 1 << 20
	if _, err := io.CopyN(h, f, mib); err != nil && err != io.EOF {
		return fp, fmt.Errorf("read %s: %w", req.Input, err)
	}
	if fi.Size() > mib {
		if _, err := f.Seek(max(mib, fi.Size()-mib), io.SeekStart); err != nil {
			return fp, err
		}
		if _, err := io.Copy(h, f); err != nil {
			return fp, fmt.Errorf("read %s: %w", req.Input, err)
		}
	}
	var b [9]byte
	for _, fr := range src.Frames {
		binary.LittleEndian.PutUint64(b[:8], uint64(fr.PTS))
		b[8] = 0
		if fr.Key {
			b[8] = 1
		}
		h.Write(b[:])
	}
	fp.Content = hex.EncodeToString(h.Sum(nil))
	return fp, nil
}

func segmentName(i int) string { return fmt.Sprintf("seg-%05d%s", i, SegmentExt) }

// partName is where the file name is written before it is complete.
func partName(name string) string {
	return strings.TrimSuffix(name, SegmentExt) + ".part" + SegmentExt
}
