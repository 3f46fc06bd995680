package deploy

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestWriteZip(t *testing.T) {
	dir := t.TempDir()
	boot := filepath.Join(dir, "bootstrap-binary")
	require.NoError(t, os.WriteFile(boot, []byte("binary"), 0o600))
	ff := filepath.Join(dir, "ffmpeg")
	require.NoError(t, os.WriteFile(ff, []byte("ffmpeg"), 0o755))

	files := PackageFiles(boot, ff)
	assert.Equal(t, []ZipFile{{"bootstrap", boot}, {"bin/ffmpeg", ff}}, files, "no ffprobe beside ffmpeg, so none in the zip")
	var buf bytes.Buffer
	require.NoError(t, WriteZip(&buf, files))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	require.Len(t, zr.File, 2)
	assert.Equal(t, "bootstrap", zr.File[0].Name, "bootstrap at the root, where provided.al2023 looks")
	for _, f := range zr.File {
		assert.Equal(t, os.FileMode(0o755), f.Mode().Perm(), f.Name)
	}
	assert.Error(t, WriteZip(&buf, []ZipFile{{"bootstrap", filepath.Join(dir, "missing")}}))
}

// TestSAMTemplate checks that deploy/template.yaml parses and describes the
// function the way lambda deploy does.
func TestSAMTemplate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "template.yaml"))
	require.NoError(t, err)
	var tpl struct {
		Transform string `yaml:"Transform"`
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(b, &tpl))
	assert.Equal(t, "AWS::Serverless-2016-10-31", tpl.Transform)
	fn := tpl.Resources["Function"]
	assert.Equal(t, "AWS::Serverless::Function", fn.Type)
	assert.Equal(t, "bootstrap", fn.Properties["Handler"])
	assert.Equal(t, "provided.al2023", fn.Properties["Runtime"])
	assert.Equal(t, "AWS::S3::Bucket", tpl.Resources["StagingBucket"].Type)
	// Environment: !If [HasOTelEndpoint, {Variables: …}, !Ref AWS::NoValue]
	env, _ := fn.Properties["Environment"].([]any)
	require.Len(t, env, 3)
	vars, _ := env[1].(map[string]any)["Variables"].(map[string]any)
	assert.Contains(t, vars, EnvOTelEndpoint, "the function's OTLP endpoint is a parameter, as --otel-endpoint sets it")
}

func TestZipArch(t *testing.T) {
	dir := t.TempDir()
	header := func(machine elf.Machine) []byte {
		h := make([]byte, 64)
		copy(h, elf.ELFMAG)
		h[elf.EI_CLASS], h[elf.EI_DATA] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB)
		binary.LittleEndian.PutUint16(h[18:], uint16(machine))
		return h
	}
	for _, tc := range []struct {
		name      string
		bootstrap []byte
		want      lambda.Arch
		err       string
	}{
		{"x86_64", header(elf.EM_X86_64), lambda.X86_64, ""},
		{"arm64", header(elf.EM_AARCH64), lambda.ARM64, ""},
		{"another machine", header(elf.EM_RISCV), "", "its bootstrap is for EM_RISCV, which Lambda does not run"},
		{"a script", []byte("#!/bin/sh\n"), "", "its bootstrap is not a Linux executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			boot := filepath.Join(dir, "bootstrap")
			require.NoError(t, os.WriteFile(boot, tc.bootstrap, 0o755))
			zipPath := filepath.Join(dir, "function.zip")
			f, err := os.Create(zipPath)
			require.NoError(t, err)
			require.NoError(t, WriteZip(f, PackageFiles(boot, "")))
			require.NoError(t, f.Close())
			arch, err := ZipArch(zipPath)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, arch)
		})
	}
	_, err := ZipArch(filepath.Join(dir, "missing.zip"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestEnvironment: --otel-endpoint sets or removes the endpoint and keeps
// the function's other variables; without it the environment is left
// alone.
func TestEnvironment(t *testing.T) {
	current := map[string]string{"KEEP": "1", EnvOTelEndpoint: "http://old:4318"}
	assert.Nil(t, Options{}.environment(current), "no change without OTelEndpoint")
	url := "https://collector.example.com:4318"
	assert.Equal(t, map[string]string{"KEEP": "1", EnvOTelEndpoint: url}, Options{OTelEndpoint: &url}.environment(current).Variables)
	assert.Equal(t, map[string]string{EnvOTelEndpoint: url}, Options{OTelEndpoint: &url}.environment(nil).Variables)
	none := ""
	assert.Equal(t, map[string]string{"KEEP": "1"}, Options{OTelEndpoint: &none}.environment(current).Variables)
	assert.Equal(t, "http://old:4318", current[EnvOTelEndpoint], "current is not changed")
}
