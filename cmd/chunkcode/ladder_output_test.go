package main

import (
	"context"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestS3LadderOutput checks an s3:// ladder OUTPUT and its flags as
// transcode will: what works, and one line naming OUTPUT or the flag,
// with exit code 2, for what never can.
func TestS3LadderOutput(t *testing.T) {
	t.Parallel()
	lambdaBackend := []string{"--backend", "lambda"}
	tests := []struct {
		name    string
		output  string
		args    []string
		want    *s3Ladder // nil with no error: not an s3:// ladder
		wantErr string    // the whole message
	}{
		{
			name: "hls on lambda", output: "s3://videos/talks/master.m3u8", args: lambdaBackend,
			want: &s3Ladder{target: publish.Target{Bucket: "videos", Prefix: "talks/", Master: "master.m3u8"}, rungs: lambda.RungsPerChunk},
		},
		{
			name: "dash, split, with a cache control", output: "s3://videos/manifest.mpd",
			args: append([]string{"--lambda-rungs", "split", "--cache-control", `public, max-age=600, stale-if-error="60"`}, lambdaBackend...),
			want: &s3Ladder{target: publish.Target{Bucket: "videos", Master: "manifest.mpd"}, rungs: lambda.RungsSplit,
				options: publish.Options{CacheControl: `public, max-age=600, stale-if-error="60"`}},
		},
		{name: "a local ladder", output: "out/master.m3u8"},
		{name: "an s3:// file, not a ladder", output: "s3://videos/talk.mp4", args: lambdaBackend},
		{name: "split for a local ladder on lambda", output: "out/master.m3u8", args: append([]string{"--lambda-rungs", "split"}, lambdaBackend...)},
		{
			name: "an s3:// ladder on the local backend", output: "s3://videos/talks/master.m3u8",
			wantErr: "s3://videos/talks/master.m3u8: an s3:// OUTPUT needs --backend lambda",
		},
		{
			name: "a bad bucket", output: "s3://Videos/master.m3u8", args: lambdaBackend,
			wantErr: `s3://Videos/master.m3u8: invalid s3:// ladder output: bucket "Videos": a bucket name has lowercase letters, digits, dots and hyphens, and starts and ends with a letter or digit`,
		},
		{
			name: "a dot-dot element", output: "s3://videos/a/../master.m3u8", args: lambdaBackend,
			wantErr: `s3://videos/a/../master.m3u8: invalid s3:// ladder output: key "a/../master.m3u8": a ".." path element`,
		},
		{
			name: "no bucket", output: "s3:///master.m3u8", args: lambdaBackend,
			wantErr: "s3:///master.m3u8: invalid s3:// ladder output: no bucket",
		},
		{
			name: "an unknown rung mode", output: "s3://videos/master.m3u8", args: append([]string{"--lambda-rungs", "rung"}, lambdaBackend...),
			wantErr: `--lambda-rungs: "rung" is not chunk (one invocation encodes every rung of a chunk) or split (one invocation per rung per chunk)`,
		},
		{
			name: "rung mode on the local backend", output: "out/master.m3u8", args: []string{"--lambda-rungs", "split"},
			wantErr: "--lambda-rungs needs --backend lambda",
		},
		{
			name: "a cache control for a local ladder", output: "out/master.m3u8", args: []string{"--cache-control", "max-age=60"},
			wantErr: "--cache-control works with an s3:// ladder OUTPUT (.m3u8 or .mpd) only",
		},
		{
			name: "an empty cache control", output: "s3://videos/master.m3u8", args: append([]string{"--cache-control", " "}, lambdaBackend...),
			wantErr: `--cache-control: empty; give directives such as "public, max-age=31536000, immutable"`,
		},
		{
			name: "a cache control without its equals sign", output: "s3://videos/master.m3u8", args: append([]string{"--cache-control", "public, max-age 600"}, lambdaBackend...),
			wantErr: `--cache-control: "max-age 600" is not a directive (NAME or NAME=VALUE, such as max-age=600)`,
		},
		{
			name: "a cache control with a newline", output: "s3://videos/master.m3u8", args: append([]string{"--cache-control", "max-age=60\nX-Injected: 1"}, lambdaBackend...),
			wantErr: `--cache-control: "max-age=60\nX-Injected: 1" is not a directive (NAME or NAME=VALUE, such as max-age=600)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o ladderS3Options
			var b backendOptions
			fs := pflag.NewFlagSet("transcode", pflag.ContinueOnError)
			o.AddFlags(fs)
			b.AddFlags(fs)
			require.NoError(t, fs.Parse(tt.args))
			o.changed(fs)
			got, err := o.s3LadderOutput(tt.output, b.name)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, err.Error())
				assert.NotContains(t, err.Error(), "\n", "one line")
				assert.Equal(t, exitUsage, exitCode(context.Background(), err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIsLadderOutput(t *testing.T) {
	t.Parallel()
	for out, want := range map[string]bool{
		"out/master.m3u8": true, "s3://b/p/manifest.mpd": true, "MASTER.M3U8": true,
		"out.mp4": false, "s3://b/p/": false, "out/master.m3u8.tmp": false,
	} {
		assert.Equal(t, want, isLadderOutput(out), out)
	}
}
