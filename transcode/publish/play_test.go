package publish_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlayPublished publishes a real CMAF ladder that ffmpeg made, two
// rungs of 2 s, and plays it back from the bucket with ffprobe as a player:
// it reads the master playlist through a public URL and follows it into
// the generation, to the playlists, init segments and segments, counting
// every frame of both rungs.
func TestPlayPublished(t *testing.T) {
	fixture.RequireFFmpeg(t)
	s := lambdatest.StartS3(t)
	c := s.Client()
	ctx := context.Background()
	pub, err := publish.Begin(c, target(), publish.Options{})
	require.NoError(t, err)
	defer pub.Abort(ctx)

	src := t.TempDir()
	const frames = 50
	var contents publish.Contents
	master := manifest.Master{}
	for _, h := range []int{90, 54} {
		id := fmt.Sprintf("%dp", h)
		dir := filepath.Join(src, id)
		require.NoError(t, os.Mkdir(dir, 0o755))
		fixture.FFmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25:duration=2", h*16/9/2*2, h),
			"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
			"-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "1", "-hls_playlist_type", "vod",
			"-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", filepath.Join(dir, "seg%d.m4s"),
			filepath.Join(dir, "index.m3u8"))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			name := id + "/" + e.Name()
			if strings.HasSuffix(name, ".m3u8") {
				contents.Playlists = append(contents.Playlists, publish.File{Name: name, Data: b})
				continue
			}
			f, err := os.Open(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			require.NoError(t, pub.Stage(ctx, name, f))
			f.Close()
			contents.Media = append(contents.Media, publish.Media{Name: name, Size: int64(len(b))})
		}
		master.Variants = append(master.Variants, manifest.Variant{
			URI: pub.Dir() + id + "/index.m3u8", Bandwidth: 100_000 * h, AverageBandwidth: 80_000 * h,
			Codecs: "avc1.42c00a", Width: h * 16 / 9 / 2 * 2, Height: h, FrameRate: 25,
		})
	}
	text, err := master.HLS()
	require.NoError(t, err)
	contents.Manifests = []publish.File{{Name: "master.m3u8", Data: text}}
	_, err = pub.Commit(ctx, contents)
	require.NoError(t, err)

	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/%s*"]}]}`, s.Bucket, outPrefix)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(s.Bucket), Policy: &policy})
	require.NoError(t, err)
	url := s.Endpoint + "/" + s.Bucket + "/" + outPrefix + "master.m3u8"
	for stream := range 2 {
		out := fixture.FFprobe(t, "-select_streams", fmt.Sprintf("v:%d", stream), "-count_frames",
			"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", url)
		assert.Equal(t, fmt.Sprint(frames), strings.TrimSpace(strings.Split(strings.TrimSpace(string(out)), "\n")[0]), "frames of rung %d", stream)
	}
}
