package lambda

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestWire pins the JSON of a request, so that a change to the wire
// is a change to this test, and checks that it decodes back.
func TestRequestWire(t *testing.T) {
	req := Request{
		Version: segmentVersion,
		Job: transcode.Job{
			Index: 3, Source: "https://b.s3.amazonaws.com/in.mp4", SeekMicros: 2_000_000, PrerollMicros: 500_000,
			StartPTS: 90000, Frames: 25, StreamIndex: 1, TimeScale: 90000, FrameRate: "30000/1001",
			Rotation: 90, RotatePixels: true,
			Profile: transcode.Profile{Codec: media.H264, CRF: transcode.CRF(23), Preset: "fast", Height: 720,
				Threads: 4, AudioCodec: media.AudioCopy, AudioBitrate: "128k"},
		},
		ResultURL: "https://b.s3.amazonaws.com/seg", ProgressURL: "https://b.s3.amazonaws.com/progress",
		TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"version":1,"job":{"index":3,"source":"https://b.s3.amazonaws.com/in.mp4","seek_us":2000000,
		"preroll_us":500000,"start_pts":90000,"frames":25,"stream_index":1,"time_scale":90000,"frame_rate":"30000/1001",
		"rotation":90,"rotate_pixels":true,"profile":{"codec":"`+string(media.H264)+`","crf":23,"preset":"fast","height":720,
		"threads":4,"audio_codec":"`+string(media.AudioCopy)+`","audio_bitrate":"128k"}},
		"result_url":"https://b.s3.amazonaws.com/seg","progress_url":"https://b.s3.amazonaws.com/progress",
		"trace_context":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`, string(b))
	var got Request
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, req, got)

	src := Request{Version: segmentVersion, Source: &SourceJob{URL: "u", Profile: transcode.Profile{AudioBitrate: "96k"},
		ProbeURL: "p", AudioURL: "a", ExtrasURL: "e"}}
	b, err = json.Marshal(src)
	require.NoError(t, err)
	got = Request{}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, src, got)
}

// TestWireJobCoversJob fails when transcode.Job or transcode.Profile gains
// a field the wire does not carry: every field but Output, set, survives
// the round trip.
func TestWireJobCoversJob(t *testing.T) {
	var job transcode.Job
	fill(t, reflect.ValueOf(&job).Elem())
	job.Output = ""
	assert.Equal(t, job, toWireJob(job).job())
}

// fill sets every field of v to a value other than its zero value.
func fill(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	default:
		t.Fatalf("fill: no value for a %s", v.Type())
	}
}

// TestOptionalFields: a request without a trace context, as an older
// client sends it, decodes with none, and one with it decodes in a function
// that does not know the field, as an older function would.
func TestOptionalFields(t *testing.T) {
	var got Request
	require.NoError(t, json.Unmarshal([]byte(`{"version":1,"job":{"index":1,"frames":3},"result_url":"u"}`), &got))
	assert.Nil(t, got.TraceContext)
	b, err := json.Marshal(Request{Version: ProtocolVersion, TraceContext: map[string]string{"traceparent": "x"}})
	require.NoError(t, err)
	var old struct {
		Version int `json:"version"`
	}
	require.NoError(t, json.Unmarshal(b, &old))
	assert.Equal(t, ProtocolVersion, old.Version)
	var resp Response
	require.NoError(t, json.Unmarshal([]byte(`{"version":1,"index":2,"frames":3}`), &resp))
	assert.Empty(t, resp.RequestID, "from a function that predates it")
}

// TestInvocationIdentity: the request ID and log stream a function adds to
// its error payload's message come off it, into the error, and the error
// names them with the log group on AWS.
func TestInvocationIdentity(t *testing.T) {
	msg := withIdentity("ffmpeg exited with status 1: tail", "8f5c-1", "2026/12/02/[$LATEST]abc")
	fe := decodeFunctionError(string(KindEncode), msg)
	assert.Equal(t, "ffmpeg exited with status 1: tail", fe.Message)
	assert.Equal(t, Invocation{RequestID: "8f5c-1", LogStream: "2026/12/02/[$LATEST]abc"}, fe.Invocation)
	fe.Invocation.LogGroup = LogGroup("chunkcode")
	assert.Equal(t, "function error (EncodeFailed) (request ID 8f5c-1; logs: /aws/lambda/chunkcode, stream 2026/12/02/[$LATEST]abc): ffmpeg exited with status 1: tail", fe.Error())

	media := decodeFunctionError(string(KindMedia)+".truncated", withIdentity("partial file", "r", ""))
	assert.Equal(t, "partial file", media.Detail)
	assert.Equal(t, "r", media.Invocation.RequestID)
	assert.Equal(t, "no identity", decodeFunctionError(string(KindEncode), "no identity").Message)

	for fn, want := range map[string]string{
		"chunkcode":      "/aws/lambda/chunkcode",
		"chunkcode:live": "/aws/lambda/chunkcode",
		"arn:aws:lambda:us-east-1:123456789012:function:chunkcode":      "/aws/lambda/chunkcode",
		"arn:aws:lambda:us-east-1:123456789012:function:chunkcode:live": "/aws/lambda/chunkcode",
	} {
		assert.Equal(t, want, LogGroup(fn), fn)
	}
}

func TestChunkRequestWire(t *testing.T) {
	req := Request{
		Version: chunkVersion,
		Job:     transcode.Job{Index: 1, Source: "https://b.s3.amazonaws.com/in.mp4", Frames: 50, Profile: transcode.Profile{Codec: media.H264}},
		Chunk: &ChunkJob{
			Rungs:      []ladder.Rung{{Height: 240, Width: 320, MaxrateKbps: 365, BufsizeKbps: 730}},
			FirstMedia: 2, KeyFrames: []int{0, 25}, Starts: []int64{25600, 38400}, TimeBase: media.Rational{Num: 1, Den: 12800},
			SegmentURLs: [][]string{{"https://b.s3.amazonaws.com/s2", "https://b.s3.amazonaws.com/s3"}},
		},
	}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"version":2`)
	assert.Contains(t, string(b), `"chunk":{"rungs":[{"height":240,"width":320,"maxrate_kbps":365,"bufsize_kbps":730}],"first_media_segment":2,"key_frames":[0,25],"starts":[25600,38400],"time_base":"1/12800","segment_urls":[["https://b.s3.amazonaws.com/s2","https://b.s3.amazonaws.com/s3"]]}`)
	var back Request
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, req.Chunk, back.Chunk)
	assert.Equal(t, req.Job.Frames, back.Job.Frames)
}
