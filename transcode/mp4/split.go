package mp4

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

// Cut cuts the fragmented MP4 file at path into CMAF pieces: it returns
// init, every box before the first moof (ftyp and moov), and calls each
// with every fragment in turn, a moof with the boxes that follow it up to
// the next moof (its mdat). Only one fragment is in memory at a time, and
// frag is reused after each returns; each may change it, as SetDecodeTime
// does. Cut stops at the first error each returns.
func Cut(path string, each func(i int, frag []byte) error) (init []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	var starts []int64 // of every fragment, then the end of the file
	for off := int64(0); off < size; {
		b, err := readBox(f, off, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b.typ == "moof" {
			starts = append(starts, off)
		}
		off = b.end
	}
	if len(starts) == 0 {
		return nil, fmt.Errorf("%s: %w: no moof box", path, ErrInvalid)
	}
	starts = append(starts, size)
	init = make([]byte, starts[0])
	if _, err := f.ReadAt(init, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var buf []byte
	for i := range len(starts) - 1 {
		n := starts[i+1] - starts[i]
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		frag := buf[:n]
		if _, err := f.ReadAt(frag, starts[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := each(i, frag); err != nil {
			return nil, err
		}
	}
	return init, nil
}

// SetDecodeTime rewrites, in the fragment frag (a moof and its mdat, as
// Split returns it), the sequence number in mfhd to seq and every track
// fragment's baseMediaDecodeTime (tfdt) to start. A version 0 tfdt, which
// holds 32 bits, fails when start does not fit.
func SetDecodeTime(frag []byte, seq uint32, start uint64) error {
	r := bytes.NewReader(frag)
	moof, err := readBox(r, 0, int64(len(frag)))
	if err != nil || moof.typ != "moof" {
		return fmt.Errorf("%w: fragment does not start with moof", ErrInvalid)
	}
	mfhd, err := find(r, moof.body, moof.end, "mfhd")
	if err != nil {
		return err
	}
	if mfhd.end-mfhd.body < 8 {
		return ErrInvalid
	}
	binary.BigEndian.PutUint32(frag[mfhd.body+4:], seq)
	n := 0
	for off := moof.body; off < moof.end; {
		traf, err := readBox(r, off, moof.end)
		if err != nil {
			return err
		}
		off = traf.end
		if traf.typ != "traf" {
			continue
		}
		tfdt, err := find(r, traf.body, traf.end, "tfdt")
		if err != nil {
			return err
		}
		switch v := frag[tfdt.body]; {
		case v == 1 && tfdt.end-tfdt.body >= 12:
			binary.BigEndian.PutUint64(frag[tfdt.body+4:], start)
		case v == 0 && tfdt.end-tfdt.body >= 8:
			if start > 0xffffffff {
				return fmt.Errorf("%w: decode time %d does not fit a version 0 tfdt", ErrInvalid, start)
			}
			binary.BigEndian.PutUint32(frag[tfdt.body+4:], uint32(start))
		default:
			return ErrInvalid
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: no traf box", ErrInvalid)
	}
	return nil
}
