package lambda

import (
	"errors"
	"fmt"
	"strings"

	"github.com/chunkcode/chunkcode/transcode"
)

// Request is the payload of one invocation: one segment to encode, or with
// Source set, a source to read. It holds values, never ffmpeg arguments.
type Request struct {
	// Job is the segment. Job.Source is a presigned GET URL of the source
	// (https, or http when the function allows it).
	Job transcode.Job `json:"job"`
	// ResultURL is a presigned PUT URL the encoded segment is uploaded to.
	ResultURL string `json:"result_url"`
	// ProgressURL, when set, is a presigned PUT URL the function writes
	// the frames done so far to, as a decimal number, about once a second.
	ProgressURL string `json:"progress_url,omitempty"`
	// Source, when set, makes the request a source job instead of a
	// segment: Job, ResultURL and ProgressURL are ignored.
	Source *SourceJob `json:"source,omitempty"`
}

// SourceJob asks the function to read a whole source once for the pipeline,
// which cannot read it itself (see transcode.SourceReader): probe it, encode
// its audio and copy what else the merge needs, each result to its own
// presigned PUT URL.
type SourceJob struct {
	// URL is a presigned GET URL of the source.
	URL string `json:"url"`
	// Profile gives the audio settings; the video settings are ignored.
	Profile transcode.Profile `json:"profile"`
	// ProbeURL receives ffprobe's JSON document of the source, gzipped,
	// for ffmpeg.ParseProbe.
	ProbeURL string `json:"probe_url"`
	// AudioURL receives the audio encoded with transcode.AudioArgs, unless
	// the profile copies the audio or the source has none.
	AudioURL string `json:"audio_url"`
	// ExtrasURL receives the file merger.ExtrasArgs writes.
	ExtrasURL string `json:"extras_url"`
}

// SourceResult is what a source job uploaded, in bytes; AudioBytes is 0
// when no audio was encoded. The Response's EncodeSeconds is the time the
// function spent reading the source.
type SourceResult struct {
	ProbeBytes  int64 `json:"probe_bytes"`
	AudioBytes  int64 `json:"audio_bytes"`
	ExtrasBytes int64 `json:"extras_bytes"`
}

// Response is what a successful invocation answers.
type Response struct {
	Index         int     `json:"index"`
	Frames        int     `json:"frames"`
	Bytes         int64   `json:"bytes"`
	EncodeSeconds float64 `json:"encode_seconds"`
	UploadSeconds float64 `json:"upload_seconds"`
	// FFmpeg is the first line of the function's `ffmpeg -version`.
	FFmpeg string `json:"ffmpeg"`
	// Source answers a source job.
	Source *SourceResult `json:"source,omitempty"`
}

// Kind classifies a function error. It is the errorType of the error
// payload Lambda returns.
type Kind string

// The kinds of function error.
const (
	// KindInvalid means the request was rejected before anything ran.
	KindInvalid Kind = "InvalidRequest"
	// KindLimit means the job asks for more than one function can do in
	// its 15 minutes (see MaxJobPixelFrames and the other limits).
	KindLimit Kind = "LimitExceeded"
	// KindMedia means the source of a source job is not media chunkcode
	// can transcode; the message is what media.Error says of it,
	// without the URL.
	KindMedia Kind = "InvalidMedia"
	// KindTLS means the source's TLS certificate did not verify.
	KindTLS Kind = "TLSVerifyFailed"
	// KindEncode means ffmpeg failed; the message ends with its stderr tail.
	KindEncode Kind = "EncodeFailed"
	// KindFrames means the encoded segment had the wrong frame count.
	KindFrames Kind = "WrongFrameCount"
	// KindUpload means the result could not be uploaded.
	KindUpload Kind = "UploadFailed"
	// KindInternal is anything else on the function's side.
	KindInternal Kind = "Internal"
	// KindTimeout means the function ran out of time ("Task timed out").
	KindTimeout Kind = "Timeout"
	// KindCrash means the function process exited during the invocation.
	// Lambda reports it as Runtime.ExitError.
	KindCrash Kind = "Runtime.ExitError"
	// KindFault is an error injected by CHUNKCODE_TEST_FAULT.
	KindFault Kind = "InjectedFault"
)

// ErrFunction is wrapped by every *FunctionError.
var ErrFunction = errors.New("function error")

// FunctionError is an invocation that ran and failed: the function returned
// an error, crashed or timed out. It wraps ErrFunction, and also
// transcode.ErrPermanent when its Kind is Permanent: the pipeline retries
// the segment only without it.
type FunctionError struct {
	Kind    Kind
	Message string
}

// Permanent reports whether an error of kind k would come back for the same
// request: a request the function refuses (KindInvalid, KindLimit) or a
// source whose certificate does not verify (KindTLS).
func (k Kind) Permanent() bool {
	switch k {
	case KindInvalid, KindLimit, KindTLS:
		return true
	}
	return false
}

func (e *FunctionError) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		return fmt.Sprintf("function error (%s)", e.Kind)
	}
	return fmt.Sprintf("function error (%s): %s", e.Kind, msg)
}

// Unwrap returns ErrFunction, and transcode.ErrPermanent for a permanent
// kind.
func (e *FunctionError) Unwrap() []error {
	if e.Kind.Permanent() {
		return []error{ErrFunction, transcode.ErrPermanent}
	}
	return []error{ErrFunction}
}
