package mp4

import (
	"encoding/binary"
	"fmt"
	"os"
)

// Init is what a CMAF initialization segment (or any MP4's moov) says about
// its first track.
type Init struct {
	TrackID uint32
	// Handler is the track's handler type: "vide", "soun", "text"…
	Handler   string
	Timescale uint32
	// DefaultSampleDuration is the trex default, used by fragments whose
	// tfhd and trun give none; 0 without an mvex box.
	DefaultSampleDuration uint32
	// DefaultSampleFlags is the trex default sample flags.
	DefaultSampleFlags uint32
	// AVC is the H.264 decoder configuration of an avc1 or avc3 sample
	// entry; nil for other codecs.
	AVC *AVCConfig
	// HEVC is the H.265 decoder configuration of an hvc1 or hev1 sample
	// entry; nil for other codecs.
	HEVC *HEVCConfig
}

// HEVCConfig is the start of an HEVCDecoderConfigurationRecord (hvcC box):
// what an RFC 6381 codec string, such as hvc1.1.6.L93.B0, is made of.
type HEVCConfig struct {
	ProfileSpace  byte // general_profile_space, 0-3
	HighTier      bool // general_tier_flag
	Profile       byte // general_profile_idc: 1 is Main
	Compatibility uint32
	Constraints   [6]byte
	Level         byte // general_level_idc: 30 times the level
}

// AVCConfig is the start of an AVCDecoderConfigurationRecord (avcC box):
// what an RFC 6381 codec string, avc1.PPCCLL, is made of.
type AVCConfig struct {
	Profile     byte // AVCProfileIndication (profile_idc): 0x64 is High
	Constraints byte // profile_compatibility: the constraint_set flags
	Level       byte // AVCLevelIndication (level_idc): 31 is level 3.1
}

// ReadInit reads the first track of the MP4 file at path: its id, handler,
// timescale, trex default duration and, for H.264, its avcC.
func ReadInit(path string) (Init, error) {
	f, err := os.Open(path)
	if err != nil {
		return Init{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Init{}, err
	}
	in, err := readInit(f, fi.Size())
	if err != nil {
		return Init{}, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// ReadAVCConfig returns the avcC of the first track of the MP4 file at
// path, such as a CMAF initialization segment; it fails with ErrInvalid if
// that track is not H.264 in an avc1 or avc3 sample entry.
func ReadAVCConfig(path string) (AVCConfig, error) {
	in, err := ReadInit(path)
	if err != nil {
		return AVCConfig{}, err
	}
	if in.AVC == nil {
		return AVCConfig{}, fmt.Errorf("%s: %w: first track has no avcC", path, ErrInvalid)
	}
	return *in.AVC, nil
}

func readInit(f *os.File, size int64) (Init, error) {
	moov, err := find(f, 0, size, "moov")
	if err != nil {
		return Init{}, err
	}
	trak, err := find(f, moov.body, moov.end, "trak")
	if err != nil {
		return Init{}, err
	}
	var in Init
	tkhd, err := find(f, trak.body, trak.end, "tkhd")
	if err != nil {
		return Init{}, err
	}
	// tkhd: version/flags, then creation and modification times (32 or
	// 64 bits each), then track_ID.
	var b [8]byte
	if _, err := f.ReadAt(b[:1], tkhd.body); err != nil {
		return Init{}, ErrInvalid
	}
	idAt := tkhd.body + 12
	if b[0] == 1 {
		idAt = tkhd.body + 20
	}
	if in.TrackID, err = u32(f, idAt); err != nil {
		return Init{}, err
	}
	hdlr, err := path(f, trak, "mdia", "hdlr")
	if err != nil {
		return Init{}, err
	}
	if _, err := f.ReadAt(b[:4], hdlr.body+8); err != nil {
		return Init{}, ErrInvalid
	}
	in.Handler = string(b[:4])
	mdhd, err := path(f, trak, "mdia", "mdhd")
	if err != nil {
		return Init{}, err
	}
	// mdhd: like tkhd, the timescale follows two 32- or 64-bit times.
	if _, err := f.ReadAt(b[:1], mdhd.body); err != nil {
		return Init{}, ErrInvalid
	}
	tsAt := mdhd.body + 12
	if b[0] == 1 {
		tsAt = mdhd.body + 20
	}
	if in.Timescale, err = u32(f, tsAt); err != nil {
		return Init{}, err
	}
	if mvex, err := find(f, moov.body, moov.end, "mvex"); err == nil {
		for off := mvex.body; off < mvex.end; {
			trex, err := readBox(f, off, mvex.end)
			if err != nil {
				return Init{}, err
			}
			// trex: version/flags, track_ID, default_sample_description_index,
			// default_sample_duration.
			if id, err := u32(f, trex.body+4); err == nil && trex.typ == "trex" && id == in.TrackID {
				if in.DefaultSampleDuration, err = u32(f, trex.body+12); err != nil {
					return Init{}, err
				}
				// then default_sample_size and default_sample_flags.
				if in.DefaultSampleFlags, err = u32(f, trex.body+20); err != nil {
					return Init{}, err
				}
			}
			off = trex.end
		}
	}
	stsd, err := path(f, trak, "mdia", "minf", "stbl", "stsd")
	if err != nil {
		return Init{}, err
	}
	// stsd: version/flags and entry_count, then the sample entries.
	entry, err := readBox(f, stsd.body+8, stsd.end)
	if err != nil {
		return Init{}, err
	}
	if entry.typ == "avc1" || entry.typ == "avc3" {
		// A VisualSampleEntry's own fields take 78 bytes; its boxes follow.
		avcC, err := find(f, entry.body+78, entry.end, "avcC")
		if err != nil {
			return Init{}, err
		}
		var c [4]byte // configurationVersion, profile, compatibility, level
		if avcC.end-avcC.body < 4 {
			return Init{}, ErrInvalid
		}
		if _, err := f.ReadAt(c[:], avcC.body); err != nil {
			return Init{}, ErrInvalid
		}
		in.AVC = &AVCConfig{Profile: c[1], Constraints: c[2], Level: c[3]}
	}
	if entry.typ == "hvc1" || entry.typ == "hev1" {
		hvcC, err := find(f, entry.body+78, entry.end, "hvcC")
		if err != nil {
			return Init{}, err
		}
		// configurationVersion, then profile space, tier and profile,
		// 4 bytes of compatibility flags, 6 of constraint flags, level.
		var c [13]byte
		if hvcC.end-hvcC.body < int64(len(c)) {
			return Init{}, ErrInvalid
		}
		if _, err := f.ReadAt(c[:], hvcC.body); err != nil {
			return Init{}, ErrInvalid
		}
		h := &HEVCConfig{ProfileSpace: c[1] >> 6, HighTier: c[1]&0x20 != 0, Profile: c[1] & 0x1f,
			Compatibility: binary.BigEndian.Uint32(c[2:6]), Level: c[12]}
		copy(h.Constraints[:], c[6:12])
		in.HEVC = h
	}
	return in, nil
}

func u32(f *os.File, off int64) (uint32, error) {
	var b [4]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return 0, ErrInvalid
	}
	return binary.BigEndian.Uint32(b[:]), nil
}
