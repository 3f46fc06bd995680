package mp4

import (
	"encoding/binary"
	"fmt"
	"os"
)

// Fragment is the timing of one track fragment (traf) of a CMAF media
// segment, in the track's timescale.
type Fragment struct {
	TrackID uint32
	// Start is the tfdt's baseMediaDecodeTime.
	Start uint64
	// Duration is the sum of the fragment's sample durations.
	Duration uint64
	Samples  int
	// Earliest is the earliest presentation time: the smallest decode
	// time plus composition offset of its samples. With B-frames and
	// positive offsets (as ffmpeg's hls muxer writes them) it is later
	// than Start; a DASH presentationTimeOffset must account for it.
	Earliest int64
	// Sync counts the sync samples (keyframes), and FirstSync says the
	// first sample is one, from the sample flags of trun, tfhd or
	// in.DefaultSampleFlags.
	Sync      int
	FirstSync bool
}

// ReadFragments returns the track fragments of the media segment at path,
// in file order. Sample durations come from trun, else from the tfhd
// default, else from in.DefaultSampleDuration (the init segment's trex).
func ReadFragments(path string, in Init) ([]Fragment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var frags []Fragment
	for off := int64(0); off < fi.Size(); {
		b, err := readBox(f, off, fi.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b.typ == "moof" {
			for toff := b.body; toff < b.end; {
				traf, err := readBox(f, toff, b.end)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				if traf.typ == "traf" {
					fr, err := readTraf(f, traf, in)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", path, err)
					}
					frags = append(frags, fr)
				}
				toff = traf.end
			}
		}
		off = b.end
	}
	if len(frags) == 0 {
		return nil, fmt.Errorf("%s: %w: no moof box", path, ErrInvalid)
	}
	return frags, nil
}

func readTraf(f *os.File, traf box, in Init) (Fragment, error) {
	var fr Fragment
	tfhd, err := find(f, traf.body, traf.end, "tfhd")
	if err != nil {
		return fr, err
	}
	flags, err := u32(f, tfhd.body)
	if err != nil {
		return fr, err
	}
	if fr.TrackID, err = u32(f, tfhd.body+4); err != nil {
		return fr, err
	}
	defaultDuration := in.DefaultSampleDuration
	defaultFlags := in.DefaultSampleFlags
	at := tfhd.body + 8
	if flags&0x01 != 0 { // base-data-offset
		at += 8
	}
	if flags&0x02 != 0 { // sample-description-index
		at += 4
	}
	if flags&0x08 != 0 { // default-sample-duration
		if defaultDuration, err = u32(f, at); err != nil {
			return fr, err
		}
		at += 4
	}
	if flags&0x10 != 0 { // default-sample-size
		at += 4
	}
	if flags&0x20 != 0 { // default-sample-flags
		if defaultFlags, err = u32(f, at); err != nil {
			return fr, err
		}
	}
	tfdt, err := find(f, traf.body, traf.end, "tfdt")
	if err != nil {
		return fr, err
	}
	var b [8]byte
	if _, err := f.ReadAt(b[:1], tfdt.body); err != nil {
		return fr, ErrInvalid
	}
	if b[0] == 1 {
		if _, err := f.ReadAt(b[:8], tfdt.body+4); err != nil {
			return fr, ErrInvalid
		}
		fr.Start = binary.BigEndian.Uint64(b[:8])
	} else {
		v, err := u32(f, tfdt.body+4)
		if err != nil {
			return fr, err
		}
		fr.Start = uint64(v)
	}
	earliest, haveEarliest := int64(fr.Start), false
	for off := traf.body; off < traf.end; {
		trun, err := readBox(f, off, traf.end)
		if err != nil {
			return fr, err
		}
		off = trun.end
		if trun.typ != "trun" {
			continue
		}
		tflags, err := u32(f, trun.body)
		if err != nil {
			return fr, err
		}
		count, err := u32(f, trun.body+4)
		if err != nil {
			return fr, err
		}
		at := trun.body + 8
		if tflags&0x01 != 0 { // data-offset
			at += 4
		}
		firstFlags, haveFirst := defaultFlags, false
		if tflags&0x04 != 0 { // first-sample-flags
			if firstFlags, err = u32(f, at); err != nil {
				return fr, err
			}
			haveFirst = true
			at += 4
		}
		per := int64(0)
		for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
			if tflags&bit != 0 {
				per += 4
			}
		}
		if at+per*int64(count) > trun.end {
			return fr, ErrInvalid
		}
		firstRun := fr.Samples == 0
		fr.Samples += int(count)
		rec := make([]byte, per*int64(count))
		if _, err := f.ReadAt(rec, at); err != nil {
			return fr, ErrInvalid
		}
		// Every sample's record holds, in order and when present:
		// duration, size, flags, composition offset.
		ctoAt := per - 4
		flagsAt := int64(0)
		for _, bit := range []uint32{0x100, 0x200} {
			if tflags&bit != 0 {
				flagsAt += 4
			}
		}
		for i := int64(0); i < int64(count); i++ {
			r := rec[i*per:]
			sflags := defaultFlags
			switch {
			case tflags&0x400 != 0:
				sflags = binary.BigEndian.Uint32(r[flagsAt:])
			case i == 0 && haveFirst:
				sflags = firstFlags
			}
			// sample_is_non_sync_sample
			if sflags&0x10000 == 0 {
				fr.Sync++
				if firstRun && i == 0 {
					fr.FirstSync = true
				}
			}
			pts := int64(fr.Start + fr.Duration) // this sample's decode time
			if tflags&0x800 != 0 {
				v := binary.BigEndian.Uint32(r[ctoAt:])
				if tflags>>24 == 1 { // version 1: signed offsets
					pts += int64(int32(v))
				} else {
					pts += int64(v)
				}
			}
			if !haveEarliest || pts < earliest {
				earliest, haveEarliest = pts, true
			}
			if tflags&0x100 != 0 {
				fr.Duration += uint64(binary.BigEndian.Uint32(r))
			} else {
				fr.Duration += uint64(defaultDuration)
			}
		}
	}
	fr.Earliest = earliest
	return fr, nil
}
