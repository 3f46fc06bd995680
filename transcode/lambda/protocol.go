package lambda

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// ProtocolVersion is the version of the wire format this package speaks:
// Request and Response with their JSON field names, and the error payload.
// A function refuses a request of a later version with KindInvalid; a
// request without one (0) is from a chunkcode that predates versions and
// speaks version 1.
//
// A field that a side may ignore, with omitempty, is added without a new
// version: Go's JSON decoding skips fields it does not know, so an older
// function ignores it and a newer one reads its zero value from an older
// client. Request.TraceContext and Response.RequestID are such fields.
//
// Version 2 added chunk jobs (Request.Chunk). A request carries the oldest
// version that reads it, so that a function deployed from an older
// chunkcode still takes the jobs it knows and refuses, by name, those it
// does not.
const ProtocolVersion = 2

// The oldest protocol versions that read each kind of request.
const (
	segmentVersion = 1 // segment and source jobs
	chunkVersion   = 2 // chunk jobs
)

// Request is the payload of one invocation: one segment to encode, or with
// Source set, a source to read. It holds values, never ffmpeg arguments.
// Its JSON form is wireRequest's, so that renaming a field of
// transcode.Job or transcode.Profile does not change the wire.
type Request struct {
	// Version is the ProtocolVersion of the client; 0 is 1.
	Version int
	// Job is the segment. Job.Source is a presigned GET URL of the source
	// (https, or http when the function allows it). Job.Output does not
	// travel.
	Job transcode.Job
	// ResultURL is a presigned PUT URL the encoded segment is uploaded to.
	ResultURL string
	// ProgressURL, when set, is a presigned PUT URL the function writes
	// the frames done so far to, as a decimal number, about once a second.
	ProgressURL string
	// Source, when set, makes the request a source job instead of a
	// segment: Job, ResultURL and ProgressURL are ignored.
	Source *SourceJob
	// TraceContext is the W3C trace context (traceparent, tracestate) of
	// the client's invocation span (observe.Inject), whose children the
	// function's spans are; nil when the run is not traced.
	TraceContext map[string]string
	// Chunk, when set, makes the request a chunk of a ladder (protocol
	// version 2): Job holds the chunk's frames and profile, as for a
	// segment, and Chunk the rungs and media segments; ResultURL is
	// ignored.
	Chunk *ChunkJob
	// Audio, when set, makes the request the audio of a ladder (protocol
	// version 2); Job and ResultURL are ignored.
	Audio *AudioJob
}

// AudioJob asks the function to encode a ladder's audio renditions from a
// source in S3, as transcode.EncodeLadderAudio does, and upload media
// segment k of track i to SegmentURLs[i][k]; the tracks'
// initialization segments travel back in the Response, and to InitURLs
// when set.
type AudioJob struct {
	// URL is a presigned GET URL of the source.
	URL string
	// Streams are the indexes of the source's audio streams, one track
	// each; Start is the source's start time in seconds.
	Streams []int
	Start   float64
	// Bitrate is the AAC bit rate, such as "128k"; SegmentLength the
	// media segment length.
	Bitrate       string
	SegmentLength time.Duration
	// SegmentURLs hold at least as many URLs per track as it has
	// segments; the rest are not used.
	SegmentURLs [][]string
	InitURLs    []string
}

// wireAudioJob is an AudioJob on the wire.
type wireAudioJob struct {
	URL           string     `json:"url"`
	Streams       []int      `json:"streams"`
	Start         float64    `json:"start"`
	Bitrate       string     `json:"bitrate"`
	SegmentMicros int64      `json:"segment_us"`
	SegmentURLs   [][]string `json:"segment_urls"`
	InitURLs      []string   `json:"init_urls,omitempty"`
}

// ChunkJob asks the function to run transcode.EncodeChunk: decode the
// chunk once, encode it to every rung, cut each rung into CMAF media
// segments and upload segment i of rung r to SegmentURLs[r][i]. The rungs'
// initialization segments travel back in the Response: a few hundred bytes
// of headers, with no media sample, that the client compares across chunks
// and reads the codec from.
type ChunkJob struct {
	Rungs      []ladder.Rung
	FirstMedia int
	KeyFrames  []int
	Starts     []int64
	TimeBase   media.Rational
	// SegmentURLs are presigned PUT URLs, one per media segment
	// (len(KeyFrames)) of every rung.
	SegmentURLs [][]string
	// InitURLs, when set, are presigned PUT URLs, one per rung, that the
	// rungs' initialization segments are uploaded to as well.
	InitURLs []string
}

// wireChunkJob is a ChunkJob on the wire.
type wireChunkJob struct {
	Rungs       []wireRung `json:"rungs"`
	FirstMedia  int        `json:"first_media_segment"`
	KeyFrames   []int      `json:"key_frames"`
	Starts      []int64    `json:"starts"`
	TimeBase    string     `json:"time_base"`
	SegmentURLs [][]string `json:"segment_urls"`
	InitURLs    []string   `json:"init_urls,omitempty"`
}

// wireRung is a ladder.Rung on the wire.
type wireRung struct {
	Height      int `json:"height"`
	Width       int `json:"width"`
	MaxrateKbps int `json:"maxrate_kbps"`
	BufsizeKbps int `json:"bufsize_kbps"`
}

func toWireChunk(c ChunkJob) *wireChunkJob {
	w := &wireChunkJob{FirstMedia: c.FirstMedia, KeyFrames: c.KeyFrames, Starts: c.Starts, TimeBase: c.TimeBase.String(), SegmentURLs: c.SegmentURLs, InitURLs: c.InitURLs}
	for _, r := range c.Rungs {
		w.Rungs = append(w.Rungs, wireRung{Height: r.Height, Width: r.Width, MaxrateKbps: r.MaxrateKbps, BufsizeKbps: r.BufsizeKbps})
	}
	return w
}

func (w *wireChunkJob) chunk() (*ChunkJob, error) {
	tb, err := media.ParseRational(w.TimeBase)
	if err != nil {
		return nil, fmt.Errorf("chunk time base: %w", err)
	}
	c := &ChunkJob{FirstMedia: w.FirstMedia, KeyFrames: w.KeyFrames, Starts: w.Starts, TimeBase: tb, SegmentURLs: w.SegmentURLs, InitURLs: w.InitURLs}
	for _, r := range w.Rungs {
		c.Rungs = append(c.Rungs, ladder.Rung{Height: r.Height, Width: r.Width, MaxrateKbps: r.MaxrateKbps, BufsizeKbps: r.BufsizeKbps})
	}
	return c, nil
}

// SourceJob asks the function to read a whole source once for the pipeline,
// which cannot read it itself (see transcode.SourceReader): probe it, encode
// its audio and copy what else the merge needs, each result to its own
// presigned PUT URL.
type SourceJob struct {
	// URL is a presigned GET URL of the source.
	URL string
	// Profile gives the audio settings; the video settings are ignored.
	Profile transcode.Profile
	// ProbeURL receives ffprobe's JSON document of the source, gzipped,
	// for ffmpeg.ParseProbe.
	ProbeURL string
	// AudioURL receives the audio encoded with transcode.AudioArgs, unless
	// the profile copies the audio or the source has none.
	AudioURL string
	// ExtrasURL receives the file merger.ExtrasArgs writes.
	ExtrasURL string
	// ProbeOnly (protocol version 2) asks for the probe alone: AudioURL
	// and ExtrasURL are ignored.
	ProbeOnly bool
}

// wireRequest is a Request on the wire.
type wireRequest struct {
	Version     int            `json:"version,omitempty"`
	Job         wireJob        `json:"job"`
	ResultURL   string         `json:"result_url"`
	ProgressURL string         `json:"progress_url,omitempty"`
	Source      *wireSourceJob `json:"source,omitempty"`
	Chunk       *wireChunkJob  `json:"chunk,omitempty"`
	Audio       *wireAudioJob  `json:"audio,omitempty"`
	// TraceContext is optional: older functions ignore it.
	TraceContext map[string]string `json:"trace_context,omitempty"`
}

// wireJob is a transcode.Job on the wire, without its Output.
type wireJob struct {
	Index         int         `json:"index"`
	Source        string      `json:"source"`
	SeekMicros    int64       `json:"seek_us"`
	PrerollMicros int64       `json:"preroll_us,omitempty"`
	StartPTS      int64       `json:"start_pts,omitempty"`
	Frames        int         `json:"frames"`
	StreamIndex   int         `json:"stream_index"`
	TimeScale     int64       `json:"time_scale,omitempty"`
	FrameRate     string      `json:"frame_rate,omitempty"`
	Rotation      int         `json:"rotation,omitempty"`
	RotatePixels  bool        `json:"rotate_pixels,omitempty"`
	Profile       wireProfile `json:"profile"`
}

// wireProfile is a transcode.Profile on the wire.
type wireProfile struct {
	Codec        string `json:"codec,omitempty"`
	CRF          *int   `json:"crf,omitempty"`
	Preset       string `json:"preset,omitempty"`
	Height       int    `json:"height,omitempty"`
	Threads      int    `json:"threads,omitempty"`
	AudioCodec   string `json:"audio_codec,omitempty"`
	AudioBitrate string `json:"audio_bitrate,omitempty"`
}

// wireSourceJob is a SourceJob on the wire.
type wireSourceJob struct {
	URL       string      `json:"url"`
	Profile   wireProfile `json:"profile"`
	ProbeURL  string      `json:"probe_url"`
	AudioURL  string      `json:"audio_url"`
	ExtrasURL string      `json:"extras_url"`
	ProbeOnly bool        `json:"probe_only,omitempty"`
}

// MarshalJSON writes r in its wire form.
func (r Request) MarshalJSON() ([]byte, error) {
	w := wireRequest{Version: r.Version, Job: toWireJob(r.Job), ResultURL: r.ResultURL, ProgressURL: r.ProgressURL, TraceContext: r.TraceContext}
	if s := r.Source; s != nil {
		w.Source = &wireSourceJob{URL: s.URL, Profile: toWireProfile(s.Profile), ProbeURL: s.ProbeURL, AudioURL: s.AudioURL, ExtrasURL: s.ExtrasURL, ProbeOnly: s.ProbeOnly}
	}
	if r.Chunk != nil {
		w.Chunk = toWireChunk(*r.Chunk)
	}
	if a := r.Audio; a != nil {
		w.Audio = &wireAudioJob{URL: a.URL, Streams: a.Streams, Start: a.Start, Bitrate: a.Bitrate,
			SegmentMicros: a.SegmentLength.Microseconds(), SegmentURLs: a.SegmentURLs, InitURLs: a.InitURLs}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads r from its wire form.
func (r *Request) UnmarshalJSON(b []byte) error {
	var w wireRequest
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Request{Version: w.Version, Job: w.Job.job(), ResultURL: w.ResultURL, ProgressURL: w.ProgressURL, TraceContext: w.TraceContext}
	if s := w.Source; s != nil {
		r.Source = &SourceJob{URL: s.URL, Profile: s.Profile.profile(), ProbeURL: s.ProbeURL, AudioURL: s.AudioURL, ExtrasURL: s.ExtrasURL, ProbeOnly: s.ProbeOnly}
	}
	if w.Chunk != nil {
		c, err := w.Chunk.chunk()
		if err != nil {
			return err
		}
		r.Chunk = c
	}
	if a := w.Audio; a != nil {
		r.Audio = &AudioJob{URL: a.URL, Streams: a.Streams, Start: a.Start, Bitrate: a.Bitrate,
			SegmentLength: time.Duration(a.SegmentMicros) * time.Microsecond, SegmentURLs: a.SegmentURLs, InitURLs: a.InitURLs}
	}
	return nil
}

func toWireJob(j transcode.Job) wireJob {
	return wireJob{
		Index: j.Index, Source: j.Source, SeekMicros: j.SeekMicros, PrerollMicros: j.PrerollMicros,
		StartPTS: j.StartPTS, Frames: j.Frames, StreamIndex: j.StreamIndex, TimeScale: j.TimeScale,
		FrameRate: j.FrameRate, Rotation: j.Rotation, RotatePixels: j.RotatePixels, Profile: toWireProfile(j.Profile),
	}
}

func (w wireJob) job() transcode.Job {
	return transcode.Job{
		Index: w.Index, Source: w.Source, SeekMicros: w.SeekMicros, PrerollMicros: w.PrerollMicros,
		StartPTS: w.StartPTS, Frames: w.Frames, StreamIndex: w.StreamIndex, TimeScale: w.TimeScale,
		FrameRate: w.FrameRate, Rotation: w.Rotation, RotatePixels: w.RotatePixels, Profile: w.Profile.profile(),
	}
}

func toWireProfile(p transcode.Profile) wireProfile {
	return wireProfile{
		Codec: string(p.Codec), CRF: p.CRF, Preset: p.Preset, Height: p.Height, Threads: p.Threads,
		AudioCodec: string(p.AudioCodec), AudioBitrate: p.AudioBitrate,
	}
}

func (w wireProfile) profile() transcode.Profile {
	return transcode.Profile{
		Codec: media.Codec(w.Codec), CRF: w.CRF, Preset: w.Preset, Height: w.Height, Threads: w.Threads,
		AudioCodec: media.AudioCodec(w.AudioCodec), AudioBitrate: w.AudioBitrate,
	}
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
	// Version is the function's ProtocolVersion; 0 from a function that
	// predates versions.
	Version       int     `json:"version,omitempty"`
	Index         int     `json:"index"`
	Frames        int     `json:"frames"`
	Bytes         int64   `json:"bytes"`
	EncodeSeconds float64 `json:"encode_seconds"`
	UploadSeconds float64 `json:"upload_seconds"`
	// FFmpeg is the first line of the function's `ffmpeg -version`.
	FFmpeg string `json:"ffmpeg"`
	// Source answers a source job.
	Source *SourceResult `json:"source,omitempty"`
	// RequestID is the invocation's, as the function saw it; "" from a
	// function that predates it. Lambda gives it in a header too, which
	// the emulator does not.
	RequestID string `json:"request_id,omitempty"`
	// Chunk answers a chunk job, and an audio job with a RungResult per
	// audio track.
	Chunk *ChunkResult `json:"chunk,omitempty"`
}

// ChunkResult is what a chunk job encoded and uploaded, rung by rung in
// the order of ChunkJob.Rungs. The Response's Frames are the chunk's,
// counted on every rung, and Bytes the media segments' total.
type ChunkResult struct {
	Rungs []RungResult `json:"rungs"`
}

// RungResult is one rung of a chunk: its initialization segment, the
// track's timescale, and every media segment as uploaded, measured: where
// its keyframe (its first frame) is presented, how long its frames last,
// how many there are and its size.
type RungResult struct {
	Init      []byte          `json:"init"`
	Timescale uint32          `json:"timescale"`
	Segments  []SegmentResult `json:"segments"`
	// EncodeSeconds is the rung's share of the encode, by its pixels.
	EncodeSeconds float64 `json:"encode_seconds"`
}

// SegmentResult is one uploaded media segment, in its track's timescale.
type SegmentResult struct {
	Number   int    `json:"number"`
	Start    uint64 `json:"start"`
	Duration uint64 `json:"duration"`
	Frames   int    `json:"frames"`
	Bytes    int64  `json:"bytes"`
}

// Kind classifies a function error. It is the errorType of the error
// payload Lambda returns, which for KindMedia is followed by a dot and the
// FunctionError's Media: "InvalidMedia.truncated".
type Kind string

// The kinds of function error.
const (
	// KindInvalid means the request was rejected before anything ran.
	KindInvalid Kind = "InvalidRequest"
	// KindLimit means the job asks for more than one function can do in
	// its 15 minutes (see MaxJobPixelFrames and the other limits).
	KindLimit Kind = "LimitExceeded"
	// KindMedia means the source of a source job is not media chunkcode
	// can transcode; the FunctionError's Media and Detail say why, and its
	// message is what media.Error says of it, without the URL.
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
	// KindFault is an error injected by CHUNKCODE_TEST_FAULT, in a
	// function built with -tags chunkcode_faults.
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
	// Invocation says where the failed invocation's logs are, when the
	// client knows.
	Invocation Invocation
	// Media, for KindMedia, names the cause (see MediaCauses); "" from a
	// function that predates it, or for a cause without a name. Detail is
	// what ffprobe said. On the wire, Detail is the message of a
	// KindMedia error with a Media, which Message is made from again.
	Media  string
	Detail string
}

// MediaCauses names on the wire the causes of a media.Error, in
// FunctionError.Media.
var MediaCauses = map[string]error{
	"not_media": media.ErrNotMedia,
	"truncated": media.ErrTruncated,
	"no_video":  media.ErrNoVideo,
	"playlist":  media.ErrPlaylist,
}

// mediaFunctionError is the KindMedia error of me, without its path.
func mediaFunctionError(me *media.Error) *FunctionError {
	fe := &FunctionError{Kind: KindMedia, Detail: me.Detail}
	for name, cause := range MediaCauses {
		if me.Err == cause {
			fe.Media = name
		}
	}
	fe.Message = mediaMessage(me.Err, me.Detail)
	return fe
}

// mediaMessage is what a media.Error with cause and detail says, without
// its path.
func mediaMessage(cause error, detail string) string {
	if detail == "" {
		return cause.Error()
	}
	return cause.Error() + " (" + detail + ")"
}

// mediaError is the *media.Error of input that e, of KindMedia, reports.
// Without a Media, from a function that predates it, the cause is
// media.ErrNotMedia and the message the detail.
func (e *FunctionError) mediaError(input string) *media.Error {
	if cause, ok := MediaCauses[e.Media]; ok {
		return &media.Error{Path: input, Err: cause, Detail: e.Detail}
	}
	return &media.Error{Path: input, Err: media.ErrNotMedia, Detail: e.Message}
}

// payload is e as an error payload: errorType and errorMessage.
func (e *FunctionError) payload() (errorType, message string) {
	if e.Kind == KindMedia && e.Media != "" {
		return string(e.Kind) + "." + e.Media, e.Detail
	}
	return string(e.Kind), e.Message
}

// decodeFunctionError is the *FunctionError of an error payload, the
// inverse of payload.
func decodeFunctionError(errorType, message string) *FunctionError {
	message, inv := cutIdentity(message)
	fe := decodeError(errorType, message)
	fe.Invocation = inv
	return fe
}

func decodeError(errorType, message string) *FunctionError {
	if name, ok := strings.CutPrefix(errorType, string(KindMedia)+"."); ok {
		if cause, ok := MediaCauses[name]; ok {
			return &FunctionError{Kind: KindMedia, Media: name, Detail: message, Message: mediaMessage(cause, message)}
		}
	}
	return &FunctionError{Kind: Kind(errorType), Message: message}
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
	where := e.Invocation.String()
	if where != "" {
		where = " (" + where + ")"
	}
	if msg == "" {
		return fmt.Sprintf("function error (%s)%s", e.Kind, where)
	}
	return fmt.Sprintf("function error (%s)%s: %s", e.Kind, where, msg)
}

// Invocation identifies one invocation and its logs in CloudWatch Logs.
type Invocation struct {
	RequestID string
	LogGroup  string // /aws/lambda/FUNCTION
	LogStream string // "" when not known
}

// String is "request ID; logs: GROUP, stream STREAM", with what is known,
// or "" when nothing is.
func (inv Invocation) String() string {
	var parts []string
	if inv.RequestID != "" {
		parts = append(parts, "request ID "+inv.RequestID)
	}
	if inv.LogGroup != "" {
		logs := "logs: " + inv.LogGroup
		if inv.LogStream != "" {
			logs += ", stream " + inv.LogStream
		}
		parts = append(parts, logs)
	}
	return strings.Join(parts, "; ")
}

// LogGroup is the CloudWatch Logs group of the function named function, a
// name or an ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]).
func LogGroup(function string) string {
	if rest, ok := strings.CutPrefix(function, "arn:"); ok {
		f := strings.Split(rest, ":")
		// aws lambda REGION ACCOUNT function NAME [QUALIFIER]
		if len(f) >= 6 && f[4] == "function" {
			function = f[5]
		}
	} else if name, _, ok := strings.Cut(function, ":"); ok {
		function = name // NAME:QUALIFIER
	}
	return "/aws/lambda/" + function
}

// identityLine starts the last line of an error payload's message from a
// function of this version: the invocation's request ID and log stream,
// which decodeFunctionError takes off into FunctionError.Invocation. An
// older client shows it as part of the message.
const identityLine = "\n[invocation "

// withIdentity returns message with the identity line of an invocation.
func withIdentity(message, requestID, logStream string) string {
	if requestID == "" && logStream == "" {
		return message
	}
	return message + identityLine + requestID + " " + logStream + "]"
}

// cutIdentity takes the identity line off message.
func cutIdentity(message string) (string, Invocation) {
	i := strings.LastIndex(message, identityLine)
	if i < 0 || !strings.HasSuffix(message, "]") {
		return message, Invocation{}
	}
	id, stream, _ := strings.Cut(message[i+len(identityLine):len(message)-1], " ")
	return message[:i], Invocation{RequestID: id, LogStream: stream}
}

// Unwrap returns ErrFunction, and transcode.ErrPermanent for a permanent
// kind.
func (e *FunctionError) Unwrap() []error {
	if e.Kind.Permanent() {
		return []error{ErrFunction, transcode.ErrPermanent}
	}
	return []error{ErrFunction}
}

// The names of a run's objects in the staging bucket, under its run
// prefix (runPrefix). The function never sees them, only presigned URLs of
// them; they are here with the wire because a run's objects are what it
// leaves behind with --keep.

// runPrefix is the key prefix of one run, under prefix (Options.Prefix):
// a UTC timestamp and random bits, ending in "/".
func runPrefix(prefix string) string {
	return prefix + time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(4) + "/"
}

// inputObject is a local source staged whole; ext is its extension.
func inputObject(run, ext string) string { return run + "input" + strings.ToLower(ext) }

// pieceObject is the staged piece of the segment index (see planPieces).
func pieceObject(run string, index int) string {
	return fmt.Sprintf("%spiece-%05d%s", run, index, transcode.SegmentExt)
}

// segmentObject is one attempt at the segment index: each attempt has a
// key of its own, since an earlier attempt that timed out on the client
// may still be running and upload late.
func segmentObject(run string, index int) string {
	return fmt.Sprintf("%sseg-%05d-%s%s", run, index, randomHex(4), transcode.SegmentExt)
}

// progressObject is where the attempt that uploads to segment writes its
// progress.
func progressObject(segment string) string {
	return strings.TrimSuffix(segment, transcode.SegmentExt) + ".progress"
}

// sourceJobObjects are what a source job uploads, by what they hold
// ("probe", "audio", "extras"), for a profile whose audio has extension
// audioExt.
func sourceJobObjects(run, audioExt string) map[string]string {
	base := run + "source/"
	return map[string]string{"probe": base + "probe.json.gz", "audio": base + "audio" + audioExt, "extras": base + "extras"}
}

func randomHex(n int) string {
	r := make([]byte, n)
	crand.Read(r)
	return hex.EncodeToString(r)
}
