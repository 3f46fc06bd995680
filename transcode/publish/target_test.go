package publish_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/publish"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name, in string
		want     publish.Target
		wantErr  string // a part of the message; "" for success
	}{
		{name: "hls under a prefix", in: "s3://videos/talks/2026/master.m3u8",
			want: publish.Target{Bucket: "videos", Prefix: "talks/2026/", Master: "master.m3u8"}},
		{name: "dash at the root", in: "s3://my.videos-1/manifest.mpd",
			want: publish.Target{Bucket: "my.videos-1", Master: "manifest.mpd"}},
		{name: "extension in capitals", in: "s3://videos/a/Master.M3U8",
			want: publish.Target{Bucket: "videos", Prefix: "a/", Master: "Master.M3U8"}},
		{name: "not s3", in: "https://videos/master.m3u8", wantErr: "want s3://bucket/prefix/master.m3u8"},
		{name: "no bucket", in: "s3:///master.m3u8", wantErr: "no bucket"},
		{name: "bucket too short", in: "s3://ab/master.m3u8", wantErr: "3 to 63 characters"},
		{name: "bucket in capitals", in: "s3://Videos/master.m3u8", wantErr: "lowercase letters"},
		{name: "bucket ending in a hyphen", in: "s3://videos-/master.m3u8", wantErr: "starts and ends"},
		{name: "bucket with two dots", in: "s3://a..b/master.m3u8", wantErr: "two dots"},
		{name: "no key", in: "s3://videos", wantErr: "empty name"},
		{name: "a prefix, not a manifest", in: "s3://videos/out/", wantErr: "empty path element"},
		{name: "a single file", in: "s3://videos/out/talk.mp4", wantErr: `"talk.mp4" is not a .m3u8 or .mpd name`},
		{name: "double slash", in: "s3://videos/out//master.m3u8", wantErr: "empty path element"},
		{name: "dot dot", in: "s3://videos/out/../master.m3u8", wantErr: `".." path element`},
		{name: "query", in: "s3://videos/out/master.m3u8?x=1", wantErr: "? or #"},
		{name: "control character", in: "s3://videos/out\n/master.m3u8", wantErr: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := publish.ParseTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, publish.ErrTarget) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTarget(%q) = %+v, %v; want an ErrTarget saying %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"master.m3u8":       "application/vnd.apple.mpegurl",
		"manifest.mpd":      "application/dash+xml",
		"720p/seg7.m4s":     "video/iso.segment",
		"720p/init.mp4":     "video/mp4",
		"subs-en/seg1.vtt":  "text/vtt",
		"720p/INIT.MP4":     "video/mp4",
		"720p/seg7.ts":      "",
		"no-extension":      "",
		"archive.m3u8.gz":   "",
		"720p.m4s/notes.md": "",
	} {
		if got := publish.ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}
