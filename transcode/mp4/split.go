package mp4

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

// Split cuts the fragmented MP4 file at path into CMAF pieces: Init holds
// every box before the first moof (ftyp and moov), and each of Fragments
// one moof with the boxes that follow it up to the next moof (its mdat).
// The pieces are the file's own bytes; SetDecodeTime changes a fragment's
// start in place.
func Split(path string) (init []byte, fragments [][]byte, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	r := bytes.NewReader(data)
	size := int64(len(data))
	start := int64(-1) // of the fragment being collected
	for off := int64(0); off < size; {
		b, err := readBox(r, off, size)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if b.typ == "moof" {
			if start < 0 {
				init = data[:off]
			} else {
				fragments = append(fragments, data[start:off])
			}
			start = off
		}
		off = b.end
	}
	if start < 0 {
		return nil, nil, fmt.Errorf("%s: %w: no moof box", path, ErrInvalid)
	}
	fragments = append(fragments, data[start:])
	return init, fragments, nil
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
