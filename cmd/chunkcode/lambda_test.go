package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/deploy"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"

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
	r = chunkcode(t, nil, "lambda", "deploy", "--otel-endpoint", "collector:4318")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Equal(t, `chunkcode: --otel-endpoint: "collector:4318" is not an http or https URL, such as https://collector.example.com:4318`, r.stderrLines()[0])
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
	r = chunkcode(t, nil, "transcode", "in.mp4", "s3://bucket/ladder/master.m3u8")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "s3://bucket/ladder/master.m3u8: an s3:// OUTPUT needs --backend lambda")
}

// TestLambdaRegionalEndpoint runs `transcode --backend lambda` as it runs on
// AWS: one Lambda endpoint from AWS_ENDPOINT_URL_LAMBDA, no
// --lambda-endpoint. The endpoint stands in front of two emulators, and
// --workers 2 must keep both busy at once.
func TestLambdaRegionalEndpoint(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s3 := lambdatest.StartS3(t)
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2, Binary: binary})
	regional := fns.Regional(t)
	dir := t.TempDir()
	in := fixture.Video(t, fixture.Spec{Name: "in.mp4", Dir: dir, Duration: 3 * time.Second})
	out := filepath.Join(dir, "out.mp4")
	env := append(s3.Env(), "AWS_ENDPOINT_URL_LAMBDA="+regional.URL)
	r := chunkcode(t, env, "transcode", "--backend", "lambda", "--bucket", s3.Bucket, "--workers", "2",
		"--memory", "1024", "--lambda-arch", "arm64", "--threads", "1", "--preset", "ultrafast",
		"--segment-duration", "0.5", "--json", "--no-progress", in, out)
	require.Equal(t, 0, r.code, "stderr: %s\n%s", r.stderr, fns.Logs())
	var sum transcode.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum), r.stdout)
	assert.Equal(t, 2, sum.Workers)
	require.GreaterOrEqual(t, sum.Segments, 4, "more segments than workers")
	assert.Equal(t, fixture.Frames(t, in), fixture.Frames(t, out))
	assert.Equal(t, 2, regional.MaxInFlight(), "invocations in flight at once")
	assert.Equal(t, sum.Segments, regional.Invocations())
	assert.Empty(t, s3.Keys(t), "staging objects left")
}

// TestLambdaPackageFromBinary packages the function outside the source
// tree, as a user who installed chunkcode does: a static Linux chunkcode
// packages itself for its own architecture, and asks for --source for the
// other one, having no published version to build. lambda deploy takes
// the package's architecture.
func TestLambdaPackageFromBinary(t *testing.T) {
	native, other := lambda.X86_64, lambda.ARM64
	switch {
	case runtime.GOOS != "linux":
		t.Skip("packaging itself needs a Linux chunkcode")
	case runtime.GOARCH == "arm64":
		native, other = other, native
	case runtime.GOARCH != "amd64":
		t.Skip("Lambda runs no " + runtime.GOARCH)
	}
	dir := t.TempDir()
	static := filepath.Join(dir, "chunkcode")
	build := exec.Command("go", "build", "-o", static, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	run := func(args ...string) result {
		cmd := exec.Command(static, args...)
		cmd.Dir = dir // not the source tree
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return result{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
	}

	r := run("lambda", "package", "--arch", string(native), "-o", "x.zip")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^x\.zip: `+string(native)+` function package, [0-9.]+ MB \(bootstrap: this binary\)\n$`, r.stderr)
	zr, err := zip.OpenReader(filepath.Join(dir, "x.zip"))
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 1)
	f, err := zr.File[0].Open()
	require.NoError(t, err)
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	want, err := os.ReadFile(static)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "the bootstrap is the binary itself")

	r = run("lambda", "deploy", "--zip", "x.zip", "--arch", other.GoArch())
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Equal(t, []string{"chunkcode: --arch " + other.GoArch() + ": x.zip holds an " + string(native) + " bootstrap"}, r.stderrLines())
	r = run("lambda", "deploy")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, []string{"chunkcode: no function.zip here: make it with chunkcode lambda package, or give --zip"}, r.stderrLines())

	r = run("lambda", "package", "--arch", string(other), "-o", "y.zip")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Equal(t, []string{"chunkcode: " + static + " cannot be the " + string(other) + " function (it is a linux/" +
		runtime.GOARCH + " build) and has no published version to build one from: give --source with the chunkcode source tree, or --bootstrap with a static linux/" +
		other.GoArch() + " build"}, r.stderrLines())
	assert.NoFileExists(t, filepath.Join(dir, "y.zip"))

	if err := deploy.CheckBinary(binary, native); err != nil {
		// A go build with cgo, as where a C compiler is: not for Lambda as it is.
		r = chunkcodeIn(t, dir, nil, "lambda", "package", "--arch", string(native), "-o", "z.zip")
		assert.Equal(t, 2, r.code, r.stderr)
		assert.Equal(t, []string{"chunkcode: " + err.Error() + " and has no published version to build one from: give --source with the chunkcode source tree, or --bootstrap with a static linux/" +
			native.GoArch() + " build"}, r.stderrLines())
	}

	r = run("lambda", "package", "--source", dir, "--bootstrap", static)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--bootstrap and --source: give one")
}
