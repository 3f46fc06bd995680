package lambda

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStageMultipart uploads a file in several parallel parts to a real S3
// server, downloads it back and deletes the prefix.
func TestStageMultipart(t *testing.T) {
	s3 := lambdatest.StartS3(t)
	b, err := New(s3.Config(), Options{Bucket: s3.Bucket, S3Endpoint: s3.Endpoint, Endpoints: []string{"http://127.0.0.1:1"}})
	require.NoError(t, err)
	b.store.partSize = 5 << 20 // S3's smallest part

	dir := t.TempDir()
	data := make([]byte, 13<<20) // three parts, the last one short
	rand.Read(data)
	src := filepath.Join(dir, "src.bin")
	require.NoError(t, os.WriteFile(src, data, 0o644))
	ctx := context.Background()
	key := b.Prefix() + "input.bin"
	n, err := b.store.upload(ctx, src, key)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), n)

	dst := filepath.Join(dir, "dst.bin")
	n, err = b.store.download(ctx, key, dst)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), n)
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "the object is the file")

	_, err = b.store.upload(ctx, filepath.Join(dir, "missing"), b.Prefix()+"missing")
	assert.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, b.store.deletePrefix(ctx, b.Prefix()))
	assert.Empty(t, s3.Keys(t), "deletePrefix deletes every object under the prefix")
}
