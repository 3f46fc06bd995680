package deploy

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goBuild builds the program in src into dir/name with env added to the
// go command's environment and the build tags tags.
func goBuild(t *testing.T, src, dir, name, tags string, env ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", tags, "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	return out
}

// program writes a Go program in a new directory and returns it.
func program(t *testing.T, mainGo string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/prog\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(mainGo), 0o644))
	return dir
}

func TestCheckBinary(t *testing.T) {
	assert.Equal(t, lambdatest.FaultsTag, FaultsTag)
	src := program(t, "package main\n\nimport _ \"os/user\"\n\nfunc main() {}\n")
	dir := t.TempDir()
	static := []string{"GOOS=linux", "CGO_ENABLED=0"}
	amd64 := goBuild(t, src, dir, "amd64", "", append(static, "GOARCH=amd64")...)
	arm64 := goBuild(t, src, dir, "arm64", BuildTags, append(static, "GOARCH=arm64")...)
	faults := goBuild(t, src, dir, "faults", "lambda.norpc,"+FaultsTag, append(static, "GOARCH=amd64")...)
	darwin := goBuild(t, src, dir, "darwin", "", "GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0")
	text := filepath.Join(dir, "text")
	require.NoError(t, os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755))

	for _, tc := range []struct {
		name, path string
		arch       lambda.Arch
		err        string // "" for none
	}{
		{"a static build without lambda.norpc serves as it is", amd64, lambda.X86_64, ""},
		{"a static build with lambda.norpc", arm64, lambda.ARM64, ""},
		{"another architecture", amd64, lambda.ARM64, "cannot be the arm64 function (it is a linux/amd64 build)"},
		{"another system", darwin, lambda.ARM64, "(it is a darwin/arm64 build)"},
		{"the test faults", faults, lambda.X86_64, "(it is built with the test faults, -tags chunkcode_faults)"},
		{"not a Go program", text, lambda.X86_64, "is not a Go program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBinary(tc.path, tc.arch)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}

	t.Run("a cgo build", func(t *testing.T) {
		if _, err := exec.LookPath("gcc"); err != nil && os.Getenv("CI") == "" {
			t.Skip("no gcc to build with cgo")
		}
		cgo := goBuild(t, src, dir, "cgo", "", "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=1")
		err := CheckBinary(cgo, lambda.X86_64)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "(it is dynamically linked: a cgo build")
	})
}

func TestModuleVersion(t *testing.T) {
	for _, tc := range []struct {
		path, version, want string
	}{
		{modulePath, "v1.2.0", "v1.2.0"},
		{modulePath, "v0.0.0-20261202120000-0123456789ab", "v0.0.0-20261202120000-0123456789ab"},
		{modulePath, "(devel)", ""},
		{modulePath, "v1.2.1-0.20261202120000-0123456789ab+dirty", ""},
		{modulePath, "", ""},
		{"example.com/other", "v1.0.0", ""},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Path: tc.path, Version: tc.version}}
		assert.Equal(t, tc.want, ModuleVersion(bi), "%s@%s", tc.path, tc.version)
	}
}

// TestBuildModule builds from a module proxy on disk that holds a stand-in
// chunkcode module at v0.0.1.
func TestBuildModule(t *testing.T) {
	proxy := t.TempDir()
	at := filepath.Join(proxy, modulePath, "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	goMod := "module " + modulePath + "\n\ngo 1.22\n"
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte("v0.0.1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "v0.0.1.info"), []byte(`{"Version":"v0.0.1"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "v0.0.1.mod"), []byte(goMod), 0o644))
	f, err := os.Create(filepath.Join(at, "v0.0.1.zip"))
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{"go.mod": goMod, "cmd/chunkcode/main.go": "package main\n\nvar version string\n\nfunc main() { println(version) }\n"} {
		w, err := zw.Create(modulePath + "@v0.0.1/" + name)
		require.NoError(t, err)
		_, err = w.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	t.Setenv("GOPROXY", "file://"+proxy)
	t.Setenv("GONOSUMDB", modulePath)
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOFLAGS", "-modcacherw") // so that t.TempDir can remove the module cache

	out, err := BuildModule(context.Background(), "v0.0.1", lambda.ARM64, t.TempDir())
	require.NoError(t, err)
	assert.NoError(t, CheckBinary(out, lambda.ARM64))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), "v0.0.1", "the version it was built from, for chunkcode version")

	_, err = BuildModule(context.Background(), "v0.0.2", lambda.ARM64, t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "download "+modulePath+"@v0.0.2: ")
	assert.NotContains(t, err.Error(), "\n")
}
