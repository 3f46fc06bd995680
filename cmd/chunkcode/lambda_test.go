package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLambdaPackage(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "chunkcode-linux")
	ffmpegDir := filepath.Join(dir, "ffmpeg-static")
	require.NoError(t, os.Mkdir(ffmpegDir, 0o755))
	require.NoError(t, os.WriteFile(bootstrap, []byte("#!/bin/sh\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ffmpegDir, "ffmpeg"), []byte("ffmpeg"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ffmpegDir, "ffprobe"), []byte("ffprobe"), 0o755))
	out := filepath.Join(dir, "function.zip")

	r := chunkcode(t, nil, "lambda", "package", "--bootstrap", bootstrap, "--ffmpeg", filepath.Join(ffmpegDir, "ffmpeg"), "-o", out)
	require.Equal(t, 0, r.code, r.stderr)
	zr, err := zip.OpenReader(out)
	require.NoError(t, err)
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		assert.Equal(t, os.FileMode(0o755), f.Mode().Perm(), "%s is executable", f.Name)
	}
	assert.Equal(t, []string{"bootstrap", "bin/ffmpeg", "bin/ffprobe"}, names)

	r = chunkcode(t, nil, "lambda", "package", "--arch", "mips", "-o", out)
	assert.Equal(t, 2, r.code, "an unknown architecture is a usage error")
	r = chunkcode(t, nil, "lambda", "package", "--source", dir, "-o", filepath.Join(dir, "other.zip"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "is not the chunkcode source tree")
	assert.NoFileExists(t, filepath.Join(dir, "other.zip"))
}

func TestLambdaBackendUsage(t *testing.T) {
	r := chunkcode(t, nil, "transcode", "--backend", "lambda", "in.mp4", "out.mp4")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--bucket")
	r = chunkcode(t, nil, "lambda", "deploy", "--memory", "64")
	assert.Equal(t, 2, r.code, r.stderr)
}

func TestS3PathsUsage(t *testing.T) {
	r := chunkcode(t, nil, "transcode", "s3://bucket/in.mp4", "out.mp4")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "s3:// INPUT needs --backend lambda")
	r = chunkcode(t, nil, "transcode", "--backend", "lambda", "--bucket", "staging", "s3://bucket/in.mp4", "s3://bucket/in.mp4")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "output is the input file")
	r = chunkcode(t, nil, "probe", "s3://bucket/in.mp4")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "probe reads local files only")
	r = chunkcode(t, nil, "transcode", "in.mp4", "s3://bucket/out.mp4")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "needs --backend lambda")
}
