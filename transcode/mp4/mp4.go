// Package mp4 reads the little of an MP4 file's index that chunkcode needs to
// check an encoded segment without starting a process: how many samples
// (frames) its video track holds.
package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrInvalid means the file is not a complete MP4: a box is cut short or
// the index is missing, as when ffmpeg was stopped before writing it.
var ErrInvalid = errors.New("not a complete mp4 file")

// VideoFrames returns the sample count of the first video track of the MP4
// file at path.
func VideoFrames(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	// Walk every top-level box, so a file cut short anywhere, even after
	// its index, is caught.
	var moov *box
	for off := int64(0); off < fi.Size(); {
		b, err := readBox(f, off, fi.Size())
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if b.typ == "moov" && moov == nil {
			moov = &b
		}
		off = b.end
	}
	if moov == nil {
		return 0, fmt.Errorf("%s: %w: no moov box", path, ErrInvalid)
	}
	// Walk every trak for one whose handler is "vide".
	off, end := moov.body, moov.end
	for off < end {
		b, err := readBox(f, off, end)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if b.typ == "trak" {
			if n, ok, err := videoSamples(f, b); err != nil {
				return 0, fmt.Errorf("%s: %w", path, err)
			} else if ok {
				return n, nil
			}
		}
		off = b.end
	}
	return 0, fmt.Errorf("%s: %w: no video track", path, ErrInvalid)
}

type box struct {
	typ       string
	body, end int64
}

// readBox reads the box header at off; the box must end by limit.
func readBox(r io.ReaderAt, off, limit int64) (box, error) {
	var h [16]byte
	if _, err := r.ReadAt(h[:8], off); err != nil {
		return box{}, ErrInvalid
	}
	size := int64(binary.BigEndian.Uint32(h[:4]))
	typ := string(h[4:8])
	body := off + 8
	switch size {
	case 0: // to the end of the enclosing space
		size = limit - off
	case 1: // 64-bit size follows
		if _, err := r.ReadAt(h[8:16], off+8); err != nil {
			return box{}, ErrInvalid
		}
		size = int64(binary.BigEndian.Uint64(h[8:16]))
		body += 8
	}
	if size < body-off || off+size > limit {
		return box{}, ErrInvalid
	}
	return box{typ: typ, body: body, end: off + size}, nil
}

// find returns the first box of type typ among the boxes in [off, end).
func find(r io.ReaderAt, off, end int64, typ string) (box, error) {
	for off < end {
		b, err := readBox(r, off, end)
		if err != nil {
			return box{}, err
		}
		if b.typ == typ {
			return b, nil
		}
		off = b.end
	}
	return box{}, fmt.Errorf("%w: no %s box", ErrInvalid, typ)
}

// path finds nested boxes: path(r, b, "mdia", "minf") is b/mdia/minf.
func path(r io.ReaderAt, b box, types ...string) (box, error) {
	for _, t := range types {
		var err error
		if b, err = find(r, b.body, b.end, t); err != nil {
			return box{}, err
		}
	}
	return b, nil
}

// videoSamples returns the sample count of trak if it is a video track.
func videoSamples(r io.ReaderAt, trak box) (int, bool, error) {
	hdlr, err := path(r, trak, "mdia", "hdlr")
	if err != nil {
		return 0, false, err
	}
	var handler [4]byte // after version/flags and pre_defined
	if _, err := r.ReadAt(handler[:], hdlr.body+8); err != nil {
		return 0, false, ErrInvalid
	}
	if string(handler[:]) != "vide" {
		return 0, false, nil
	}
	stbl, err := path(r, trak, "mdia", "minf", "stbl")
	if err != nil {
		return 0, false, err
	}
	sz, err := find(r, stbl.body, stbl.end, "stsz")
	if err != nil {
		if sz, err = find(r, stbl.body, stbl.end, "stz2"); err != nil {
			return 0, false, err
		}
	}
	// version/flags, then sample_size (stsz) or reserved+field_size (stz2),
	// then sample_count.
	var count [4]byte
	if _, err := r.ReadAt(count[:], sz.body+8); err != nil {
		return 0, false, ErrInvalid
	}
	return int(binary.BigEndian.Uint32(count[:])), true, nil
}
