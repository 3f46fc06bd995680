package publish

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Content types of the files of a ladder, by extension.
const (
	TypeHLS     = "application/vnd.apple.mpegurl"
	TypeDASH    = "application/dash+xml"
	TypeSegment = "video/iso.segment"
	TypeMP4     = "video/mp4"
	TypeWebVTT  = "text/vtt"
)

var contentTypes = map[string]string{
	".m3u8": TypeHLS,
	".mpd":  TypeDASH,
	".m4s":  TypeSegment,
	".mp4":  TypeMP4,
	".vtt":  TypeWebVTT,
}

// ContentType returns the Content-Type a ladder file is served with, by
// its extension (.m3u8, .mpd, .m4s, .mp4, .vtt), or "" for any other name.
func ContentType(name string) string { return contentTypes[strings.ToLower(path.Ext(name))] }

// isManifest reports whether name is a playlist or manifest, which gets the
// playlists' Cache-Control rather than the segments'.
func isManifest(name string) bool {
	t := ContentType(name)
	return t == TypeHLS || t == TypeDASH
}

// ErrTarget is wrapped by the errors of ParseTarget.
var ErrTarget = errors.New("invalid s3:// ladder output")

// A Target is where a ladder is published: the manifest Master (such as
// "master.m3u8") under Prefix in Bucket. Prefix is "" (the bucket's root)
// or ends in "/".
type Target struct {
	Bucket, Prefix, Master string
}

// String returns the target as the s3:// URL it was parsed from.
func (t Target) String() string { return "s3://" + t.Bucket + "/" + t.Prefix + t.Master }

// URL returns the s3:// URL of name, a key relative to the prefix.
func (t Target) URL(name string) string { return "s3://" + t.Bucket + "/" + t.Prefix + name }

// ParseTarget reads an s3://bucket/prefix/master.m3u8 (or .mpd) OUTPUT. The
// bucket must be a valid S3 bucket name; the key must end in .m3u8 or .mpd
// and have no empty, "." or ".." element, since those would name other
// keys than a player resolves relative URIs to. Errors wrap ErrTarget and
// say what is wrong in words, without the URL.
func ParseTarget(s string) (Target, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Target{}, fmt.Errorf("%w: want s3://bucket/prefix/master.m3u8", ErrTarget)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrTarget, err)
	}
	if strings.ContainsAny(key, "?#") {
		return Target{}, fmt.Errorf("%w: the key has a ? or #, which a player would not send as part of it", ErrTarget)
	}
	if err := checkName(key); err != nil {
		return Target{}, fmt.Errorf("%w: key %q: %v", ErrTarget, key, err)
	}
	dir, master := path.Split(key)
	switch ContentType(master) {
	case TypeHLS, TypeDASH:
	default:
		return Target{}, fmt.Errorf("%w: %q is not a .m3u8 or .mpd name", ErrTarget, master)
	}
	return Target{Bucket: bucket, Prefix: dir, Master: master}, nil
}

// checkBucket applies S3's rules for bucket names: 3 to 63 lowercase
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit, no two dots in a row.
func checkBucket(b string) error {
	switch {
	case b == "":
		return errors.New("no bucket")
	case len(b) < 3 || len(b) > 63:
		return fmt.Errorf("bucket %q: a bucket name has 3 to 63 characters", b)
	case strings.Contains(b, ".."):
		return fmt.Errorf("bucket %q: two dots in a row", b)
	}
	for i, c := range b {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(b)-1 || c != '.' && c != '-') {
			return fmt.Errorf("bucket %q: a bucket name has lowercase letters, digits, dots and hyphens, and starts and ends with a letter or digit", b)
		}
	}
	return nil
}

// checkName accepts a relative key: elements separated by single slashes,
// none empty, "." or "..", and no control character.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return errors.New("a control character")
		}
	}
	for el := range strings.SplitSeq(name, "/") {
		switch el {
		case "":
			return errors.New("an empty path element (a leading, trailing or double slash)")
		case ".", "..":
			return fmt.Errorf("a %q path element", el)
		}
	}
	return nil
}
