package deploy

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

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
}
