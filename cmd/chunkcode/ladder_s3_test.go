package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chunkcode/chunkcode/internal/browsertest"
	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLadderS3PlaysInBrowser publishes a ladder that `chunkcode transcode
// --backend lambda` encoded on two emulators behind the regional endpoint
// to an s3:// OUTPUT on versitygw, and plays it in Chromium with hls.js
// straight from the bucket, through its public-read URL: every rung is
// forced and decodes frames, and playback reaches the end. The --json
// summary gives the functions' cost per rung and in total.
func TestLadderS3PlaysInBrowser(t *testing.T) {
	browsertest.Require(t)
	fixture.RequireFFmpeg(t)
	in := ladderSource(t)
	store := lambdatest.StartS3(t)
	fns := lambdatest.StartFunctions(t, lambdatest.FunctionOptions{N: 2})
	regional := fns.Regional(t)
	env := append(store.Env(), "AWS_ENDPOINT_URL_LAMBDA="+regional.URL)
	out := "s3://" + store.Bucket + "/videos/play/master.m3u8"
	r := chunkcode(t, env, "transcode", "--backend", "lambda", "--bucket", store.Bucket, "--function", "chunkcode",
		"--memory", "1024", "--lambda-arch", "arm64", "--workers", "2", "--threads", "1", "--json",
		"--ladder", "240x900,180x600,144x400", "--segment-length", "2", "--preset", "veryfast", in, out)
	require.Equal(t, 0, r.code, r.stderr+fns.Logs())
	var sum struct {
		Manifests []string `json:"manifests"`
		Rungs     []struct {
			Height, Frames int
		} `json:"rungs"`
		Cost lambda.LadderCost `json:"cost"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, []string{out}, sum.Manifests)
	require.Len(t, sum.Rungs, 3)
	for _, g := range sum.Rungs {
		assert.Equal(t, ladderSeconds*ladderRate, g.Frames, "%dp frames", g.Height)
	}
	require.Len(t, sum.Cost.Rungs, 3)
	var usd float64
	for _, c := range sum.Cost.Rungs {
		assert.Positive(t, c.GBSeconds, "%dp GB-seconds", c.Height)
		usd += c.USD
	}
	assert.InDelta(t, sum.Cost.Total.USD, usd, 1e-9, "the rungs' cost adds up to the total")
	assert.Positive(t, sum.Cost.Total.Invocations)

	// The bucket serves the output prefix to anyone, with CORS for the
	// player's page, as a CDN origin would.
	ctx := context.Background()
	c := store.Client()
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/videos/play/*"]}]}`, store.Bucket)
	_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(store.Bucket), Policy: &policy})
	require.NoError(t, err)
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(store.Bucket), CORSConfiguration: &s3types.CORSConfiguration{
		CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}}},
	}})
	require.NoError(t, err)

	url := store.Endpoint + "/" + store.Bucket + "/" + strings.TrimPrefix(out, "s3://"+store.Bucket+"/")
	res := browsertest.Play(t, t.TempDir(), "master.m3u8", browsertest.Options{URL: url})
	for _, p := range res.Problems(ladderRate) {
		t.Error(p)
	}
	assert.Len(t, res.Rungs, 3)
	t.Logf("%s from %s: ended %v at %.3fs of %.3fs, %d frames decoded", res.Kind, url, res.Ended, res.CurrentTime, res.Duration, res.TotalFrames)
}
