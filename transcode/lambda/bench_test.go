package lambda_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/chunkcode/chunkcode/transcode/publish"
)

// BenchmarkLoopback compares the Lambda backend on two emulators and a
// loopback S3 server with the local backend on two workers, on the same
// clip and settings, in alternating runs. It reports the wall time of each,
// their ratio and the Lambda run's breakdown: staging upload, invoke and
// encode (the encode stage's wall time, downloads included), the summed
// per-segment downloads, and merge.
//
//	go test ./transcode/lambda -run '^$' -bench Loopback -benchtime 5x
func BenchmarkLoopback(b *testing.B) {
	fixture.RequireFFmpeg(b)
	s3 := lambdatest.StartS3(b)
	fns := lambdatest.StartFunctions(b, lambdatest.FunctionOptions{N: 2})
	dir := b.TempDir()
	in := fixture.Video(b, fixture.Spec{Name: "clip.mp4", Dir: dir, Duration: 10 * time.Second,
		Width: 640, Height: 360, Rate: 30, GOP: 60, Audio: 1})
	req := transcode.Request{
		Input: in, Output: filepath.Join(dir, "out.mp4"),
		Profile: transcode.Profile{Codec: media.H264, Preset: "veryfast", Threads: transcode.Threads(2)},
		Workers: 2, Retries: transcode.DefaultRetries,
	}
	runOnce := func(backend transcode.Backend) *transcode.Summary {
		p := &transcode.Pipeline{Backend: backend}
		sum, err := p.Run(context.Background(), req)
		if err != nil {
			b.Fatalf("%s: %v\n%s", backend.Properties().Name, err, fns.Logs())
		}
		return sum
	}
	newLambda := func() *lambda.Backend {
		lb, err := lambda.New(s3.Config(), lambda.Options{Bucket: s3.Bucket, Endpoints: fns.Endpoints, S3Endpoint: s3.Endpoint})
		if err != nil {
			b.Fatal(err)
		}
		return lb
	}
	// Warm up both: the emulators start their function on the first
	// invocation, and the page cache fills.
	runOnce(&transcode.Local{})
	runOnce(newLambda())

	var local, remote, upload, encode, download, merge float64
	for b.Loop() {
		local += runOnce(&transcode.Local{}).WallSeconds
		sum := runOnce(newLambda())
		remote += sum.WallSeconds
		upload += sum.Stages.Prepare
		encode += sum.Stages.Encode
		download += sum.Remote.DownloadSeconds
		merge += sum.Stages.Merge
	}
	n := float64(b.N)
	b.ReportMetric(local/n, "local-s/op")
	b.ReportMetric(remote/n, "lambda-s/op")
	b.ReportMetric(remote/local, "lambda/local")
	b.ReportMetric(upload/n, "upload-s/op")
	b.ReportMetric(encode/n, "invoke+encode-s/op")
	b.ReportMetric(download/n, "download-s/op")
	b.ReportMetric(merge/n, "merge-s/op")
}

// BenchmarkLadderLoopback compares a ladder on the Lambda backend, two
// emulators behind per-emulator endpoints and a loopback S3 server, with
// the local ladder on two workers: the same clip, rungs and settings, two
// chunk encodes at once on both, in alternating runs. The Lambda ladder is
// published to s3:// (publish), downloaded into a local directory
// (lambda-local), and split per rung (split, published); each is reported
// against the local ladder's wall time.
//
//	go test ./transcode/lambda -run '^$' -bench LadderLoopback -benchtime 3x
func BenchmarkLadderLoopback(b *testing.B) {
	fixture.RequireFFmpeg(b)
	s3 := lambdatest.StartS3(b)
	fns := lambdatest.StartFunctions(b, lambdatest.FunctionOptions{N: 2})
	dir := b.TempDir()
	in := fixture.Video(b, fixture.Spec{Name: "clip.mp4", Dir: dir, Duration: 12 * time.Second,
		Width: 640, Height: 360, Rate: 30, GOP: 60, Audio: 1})
	rungs, err := ladder.Parse("360,240,144")
	if err != nil {
		b.Fatal(err)
	}
	request := func(out string) transcode.Request {
		return transcode.Request{
			Input: in, Output: out, Ladder: rungs, SegmentLength: 2 * time.Second,
			Profile: transcode.Profile{Preset: "veryfast", Threads: 1},
			Workers: 2, Retries: transcode.DefaultRetries,
		}
	}
	seq := 0
	runOnce := func(name string, mode lambda.RungMode, published bool) float64 {
		seq++
		req := request(filepath.Join(b.TempDir(), "ladder", "master.m3u8"))
		var backend transcode.Backend = &transcode.Local{}
		if name != "local" {
			lb, err := lambda.New(s3.Config(), lambda.Options{Bucket: s3.Bucket, Endpoints: fns.Endpoints, S3Endpoint: s3.Endpoint, Rungs: mode})
			if err != nil {
				b.Fatal(err)
			}
			backend = lb
			if published {
				target, err := publish.ParseTarget(fmt.Sprintf("s3://%s/bench/%d/master.m3u8", s3.Bucket, seq))
				if err != nil {
					b.Fatal(err)
				}
				if req.Publish, err = lb.Publish(target, publish.Options{}); err != nil {
					b.Fatal(err)
				}
				req.Output = target.String()
			}
		}
		sum, err := (&transcode.Pipeline{Backend: backend}).Run(context.Background(), req)
		if err != nil {
			b.Fatalf("%s: %v\n%s", name, err, fns.Logs())
		}
		return sum.WallSeconds
	}
	runs := []struct {
		name      string
		mode      lambda.RungMode
		published bool
	}{{"local", "", false}, {"publish", lambda.RungsPerChunk, true}, {"lambda-local", lambda.RungsPerChunk, false}, {"split", lambda.RungsSplit, true}}
	for _, r := range runs {
		runOnce(r.name, r.mode, r.published) // warm up the functions and the page cache
	}
	wall := map[string]float64{}
	for b.Loop() {
		for _, r := range runs {
			wall[r.name] += runOnce(r.name, r.mode, r.published)
		}
	}
	n := float64(b.N)
	for _, r := range runs {
		b.ReportMetric(wall[r.name]/n, r.name+"-s/op")
		if r.name != "local" {
			b.ReportMetric(wall[r.name]/wall["local"], r.name+"/local")
		}
	}
}
