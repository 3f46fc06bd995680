// Package manifest writes and reads the manifests of a streaming ladder:
// HLS master and media playlists (with github.com/grafov/m3u8) and the DASH
// MPD (with encoding/xml), over CMAF (fragmented MP4) segments. It starts
// no process and reads no file: callers measure the segments and pass the
// figures in.
package manifest

import (
	"errors"
	"fmt"
	"math/bits"
)

// ErrInvalid is wrapped by the errors of the writers when the description
// they are given cannot make a valid manifest, and by the readers when the
// text is not one.
var ErrInvalid = errors.New("invalid manifest")

// AACLC is the RFC 6381 codec string of AAC-LC audio.
const AACLC = "mp4a.40.2"

// AVCCodec returns the RFC 6381 codec string of H.264 video, avc1.PPCCLL,
// from the first three bytes of its avcC box (AVCDecoderConfigurationRecord):
// profile_idc, the constraint-set flags byte and level_idc. High profile
// level 3.1 is avc1.64001f.
func AVCCodec(profile, constraints, level byte) string {
	return fmt.Sprintf("avc1.%02x%02x%02x", profile, constraints, level)
}

// HEVCCodec returns the RFC 6381 codec string of H.265 video in an hvc1
// sample entry, as ISO/IEC 14496-15 Annex E builds it from the hvcC:
// hvc1, the profile space (A, B or C, none for 0) and profile, the
// compatibility flags in reverse bit order as hex, the tier (L or H) and
// level, and the constraint bytes as hex, trailing zero bytes left out.
// Main profile, Main tier, level 3.1 is hvc1.1.6.L93.B0.
func HEVCCodec(profileSpace byte, highTier bool, profile byte, compatibility uint32, constraints [6]byte, level byte) string {
	s := "hvc1."
	if profileSpace > 0 {
		s += string(rune('A' + profileSpace - 1))
	}
	s += fmt.Sprintf("%d.%X.", profile, bits.Reverse32(compatibility))
	if highTier {
		s += "H"
	} else {
		s += "L"
	}
	s += fmt.Sprint(level)
	n := len(constraints)
	for n > 0 && constraints[n-1] == 0 {
		n--
	}
	for _, b := range constraints[:n] {
		s += fmt.Sprintf(".%X", b)
	}
	return s
}

// Codecs joins the codec strings of a variant's streams, as in
// CODECS="avc1.64001f,mp4a.40.2"; empty strings are left out.
func Codecs(codecs ...string) string {
	s := ""
	for _, c := range codecs {
		if c == "" {
			continue
		}
		if s != "" {
			s += ","
		}
		s += c
	}
	return s
}
