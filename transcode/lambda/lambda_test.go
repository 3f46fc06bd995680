package lambda

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFunctionError(t *testing.T) {
	cases := map[string]struct {
		header  string
		payload string
		kind    Kind // "" for success
		message string
	}{
		"a response":                       {"", `{"index":1,"frames":25}`, "", ""},
		"Lambda sets the header":           {"Unhandled", `{"errorType":"EncodeFailed","errorMessage":"ffmpeg exited with status 1: boom"}`, KindEncode, "boom"},
		"the emulator sets no header":      {"", `{"errorType":"EncodeFailed","errorMessage":"ffmpeg exited"}`, KindEncode, "ffmpeg exited"},
		"the emulator times out":           {"", `Task timed out after 2.00 seconds`, KindTimeout, "Task timed out"},
		"Lambda times out":                 {"Unhandled", `{"errorMessage":"2026-11-26T21:00:00Z 1 Task timed out after 900.00 seconds"}`, KindTimeout, "900.00"},
		"a crash with an unknown payload":  {"Unhandled", `{"unexpected":true}`, KindInternal, "Unhandled"},
		"an error type without a message":  {"", `{"errorType":"Runtime.ExitError"}`, "Runtime.ExitError", ""},
		"a media error names its cause":    {"Unhandled", `{"errorType":"InvalidMedia.truncated","errorMessage":"moov atom not found"}`, KindMedia, "truncated or damaged (moov atom not found)"},
		"a media error of an old function": {"Unhandled", `{"errorType":"InvalidMedia","errorMessage":"not a media file"}`, KindMedia, "not a media file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out := &lambdasvc.InvokeOutput{Payload: []byte(c.payload)}
			if c.header != "" {
				out.FunctionError = aws.String(c.header)
			}
			fe := functionError(out)
			if c.kind == "" {
				assert.Nil(t, fe)
				return
			}
			require.NotNil(t, fe)
			assert.Equal(t, c.kind, fe.Kind)
			assert.Contains(t, fe.Message, c.message)
			assert.ErrorIs(t, fe, ErrFunction)
		})
	}
}

func TestLogTailAndCost(t *testing.T) {
	tail := "START RequestId: x\nEND RequestId: x\nREPORT RequestId: x\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\tMemory Size: 10240 MB\tMax Memory Used: 300 MB\t\n"
	r := parseLogTail(base64.StdEncoding.EncodeToString([]byte(tail)))
	assert.Equal(t, 1235*time.Millisecond, r.billed)
	assert.Equal(t, 10240, r.memoryMB)
	assert.Zero(t, r.init, "a warm start has no Init Duration")
	cold := "REPORT RequestId: x\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\tMemory Size: 10240 MB\tMax Memory Used: 300 MB\tInit Duration: 85.25 ms\t\n"
	assert.Equal(t, 85250*time.Microsecond, parseLogTail(base64.StdEncoding.EncodeToString([]byte(cold))).init)
	assert.Equal(t, report{}, parseLogTail(""))
	assert.Equal(t, report{}, parseLogTail("not base64!"))

	assert.Equal(t, 1235*time.Millisecond, BilledDuration(1234100*time.Microsecond))
	gbs, usd := Cost(2*time.Second, 1024, "arm64")
	assert.InDelta(t, 2.0, gbs, 1e-9)
	assert.InDelta(t, 2*PriceGBSecondArm64+PriceRequest, usd, 1e-12)
	_, usd = Cost(2*time.Second, 1024, "x86_64")
	assert.InDelta(t, 2*PriceGBSecondX86+PriceRequest, usd, 1e-12)
}

func TestParseS3URL(t *testing.T) {
	b, k, ok := ParseS3URL("s3://bucket/dir/in.mp4")
	assert.True(t, ok)
	assert.Equal(t, "bucket", b)
	assert.Equal(t, "dir/in.mp4", k)
	for _, s := range []string{"in.mp4", "s3://bucket", "s3://bucket/", "https://bucket/in.mp4", "/s3://x/y"} {
		_, _, ok := ParseS3URL(s)
		assert.False(t, ok, s)
	}
}

// TestThrottling checks that 429 answers are retried with backoff. The
// emulator never throttles, so a stand-in endpoint answers like Lambda does.
func TestThrottling(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("X-Amzn-Errortype", "TooManyRequestsException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`)
			return
		}
		io.WriteString(w, `{"index":3,"frames":25}`)
	}))
	defer srv.Close()
	b, err := New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")},
		Options{Bucket: "b", Endpoints: []string{srv.URL}})
	require.NoError(t, err)
	resp, _, err := b.invoke(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, Response{Index: 3, Frames: 25}, resp)
	assert.Equal(t, 2, b.Stats().Throttles)
	assert.Equal(t, map[string]int{srv.URL: 3}, b.Stats().Invocations)
}

func TestNewHandlerFindsFFmpeg(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "bin"), 0o755))
	ff := filepath.Join(root, "bin", "ffmpeg")
	require.NoError(t, os.WriteFile(ff, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("LAMBDA_TASK_ROOT", root)
	t.Setenv(EnvAllowHTTP, "")
	t.Setenv(EnvTestFault, "")
	h := NewHandler()
	if _, err := os.Stat("/opt/bin/ffmpeg"); err != nil {
		assert.Equal(t, ff, h.Runner.FFmpeg, "the package's own bin/ffmpeg, without an ffprobe beside it")
	}
	assert.False(t, h.AllowHTTP)
	assert.Empty(t, h.fault)

	t.Setenv("LAMBDA_TASK_ROOT", t.TempDir())
	t.Setenv(EnvAllowHTTP, "1")
	h = NewHandler()
	assert.True(t, h.AllowHTTP)
	if _, err := os.Stat("/opt/bin/ffmpeg"); err != nil {
		assert.Equal(t, "", h.Runner.FFmpeg, "ffmpeg from PATH")
	}
}

// TestMediaErrorWire checks that a media error crosses the wire with its
// cause and detail, and comes back as the *media.Error of the input.
func TestMediaErrorWire(t *testing.T) {
	for name, cause := range MediaCauses {
		t.Run(name, func(t *testing.T) {
			sent := mediaFunctionError(&media.Error{Path: "https://b/in.mp4", Err: cause, Detail: "ffprobe said so"})
			assert.Equal(t, KindMedia, sent.Kind)
			assert.Equal(t, cause.Error()+" (ffprobe said so)", sent.Message)
			typ, msg := sent.payload()
			got := decodeFunctionError(typ, msg)
			assert.Equal(t, sent, got)
			me := got.mediaError("s3://b/in.mp4")
			assert.ErrorIs(t, me, cause)
			assert.Equal(t, &media.Error{Path: "s3://b/in.mp4", Err: cause, Detail: "ffprobe said so"}, me)
		})
	}
	old := decodeFunctionError(string(KindMedia), "not a media file (whatever)")
	assert.Equal(t, &media.Error{Path: "in", Err: media.ErrNotMedia, Detail: "not a media file (whatever)"}, old.mediaError("in"),
		"a function that predates Media: the cause is not media")
}
