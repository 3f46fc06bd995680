package publish_test

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/publish"
)

// A ladder's pipeline begins the publish before it encodes, has its
// encoders stage every segment, and commits once it has verified what
// they report. Any failure before Commit ends in Abort.
func Example() {
	ctx := context.Background()
	var client *s3.Client // with the run's AWS configuration
	target, err := publish.ParseTarget("s3://videos/talks/2026/master.m3u8")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := publish.Begin(client, target, publish.Options{CacheControl: "public, max-age=86400"})
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Abort(ctx) // does nothing once committed

	// The encoders PUT to pub.StagingKey(name) through presigned URLs, or:
	f, err := os.Open("work/720p/seg0.m4s")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pub.Stage(ctx, "720p/seg0.m4s", f); err != nil {
		log.Fatal(err)
	}

	// The top-level manifests name what they refer to through pub.Dir().
	playlist, _ := manifest.Playlist{Init: "init.mp4", Segments: []manifest.Segment{{URI: "seg0.m4s", Duration: 6}}}.HLS()
	master, _ := manifest.Master{Variants: []manifest.Variant{{URI: pub.Dir() + "720p/index.m3u8",
		Bandwidth: 3_000_000, AverageBandwidth: 2_500_000, Codecs: "avc1.64001f", Width: 1280, Height: 720, FrameRate: 25}}}.HLS()
	rep, err := pub.Commit(ctx, publish.Contents{
		Media:     []publish.Media{{Name: "720p/init.mp4", Size: 812}, {Name: "720p/seg0.m4s", Size: 2_250_000}},
		Playlists: []publish.File{{Name: "720p/index.m3u8", Data: playlist}},
		Manifests: []publish.File{{Name: "master.m3u8", Data: master}},
	})
	if err != nil {
		log.Fatal(err) // the manifests at the prefix are unchanged
	}
	log.Printf("published %s: %d objects in %.1fs", target, rep.Objects, rep.Seconds)
}
