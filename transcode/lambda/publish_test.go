package lambda_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPublish stages a ladder's files as the functions will, with plain
// PUTs to presigned URLs, in the backend's bucket under its prefix, and
// publishes it to another prefix.
func TestPublish(t *testing.T) {
	s3 := lambdatest.StartS3(t)
	b, err := lambda.New(s3.Config(), lambda.Options{Bucket: s3.Bucket, S3Endpoint: s3.Endpoint})
	require.NoError(t, err)
	ctx := context.Background()
	l, err := b.Publish(publish.Target{Bucket: s3.Bucket, Prefix: "site/talk/", Master: "master.m3u8"}, publish.Options{})
	require.NoError(t, err)
	assert.Equal(t, s3.Bucket, l.StagingBucket())

	media := map[string][]byte{"360p/init.mp4": bytes.Repeat([]byte{1}, 700), "360p/seg0.m4s": bytes.Repeat([]byte{2}, 5000)}
	var contents publish.Contents
	for name, body := range media {
		u, err := b.StagingPutURL(ctx, l, name)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "PUT %s", name)
		contents.Media = append(contents.Media, publish.Media{Name: name, Size: int64(len(body))})
	}
	assert.Contains(t, s3.Keys(t), lambda.DefaultPrefix+"publish-"+l.Dir()+"360p/seg0.m4s", "staged under the backend's prefix")

	playlist, err := manifest.Playlist{Init: "init.mp4", Segments: []manifest.Segment{{URI: "seg0.m4s", Duration: 2}}}.HLS()
	require.NoError(t, err)
	master, err := manifest.Master{Variants: []manifest.Variant{{
		URI: l.Dir() + "360p/index.m3u8", Bandwidth: 30000, AverageBandwidth: 20000, Codecs: "avc1.64001e", Width: 640, Height: 360, FrameRate: 25,
	}}}.HLS()
	require.NoError(t, err)
	contents.Playlists = []publish.File{{Name: "360p/index.m3u8", Data: playlist}}
	contents.Manifests = []publish.File{{Name: "master.m3u8", Data: master}}
	_, err = l.Commit(ctx, contents)
	require.NoError(t, err)

	want := []string{"site/talk/" + l.Dir() + "360p/index.m3u8", "site/talk/" + l.Dir() + "360p/init.mp4", "site/talk/" + l.Dir() + "360p/seg0.m4s", "site/talk/master.m3u8"}
	assert.Equal(t, want, slices.Sorted(slices.Values(s3.Keys(t))), "the ladder, and no staging object")
}
