// Package manifest writes and reads the manifests of a streaming ladder:
// HLS master and media playlists (with github.com/grafov/m3u8) and the DASH
// MPD (with encoding/xml), over CMAF (fragmented MP4) segments. It starts
// no process and reads no file: callers measure the segments and pass the
// figures in.
package manifest

import (
	"errors"
	"fmt"
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
