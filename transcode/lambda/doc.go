// Package lambda runs chunkcode's segment step on AWS Lambda: a Backend that
// stages the source in S3 and invokes a function for each segment, and the
// Handler that function runs, which is the chunkcode binary itself.
//
// Media never travels in payloads. The backend uploads a local source once and
// sends each invocation a Request holding the segment Job, a presigned GET
// URL for the source and a presigned PUT URL for the result; the function
// encodes with transcode.EncodeSegment, the same code as the local backend,
// uploads the segment and answers with a Response. A failed invocation
// answers with an error payload whose errorType is one of the Kind values.
//
// An s3:// source is read where it lies: one source job (SourceJob) probes
// it and encodes its audio on the function before the segments are
// encoded, so the machine that runs the pipeline never reads it.
//
// A streaming ladder (chunk.go) is a ChunkJob per chunk (protocol version
// 2): the function decodes the chunk once, encodes every rung with
// transcode.EncodeChunk and uploads each CMAF segment to its presigned URL,
// or, with --lambda-rungs split, one rung per invocation. The answer
// reports every segment's frames, start, duration and size, and carries
// the rungs' initialization segments: a few hundred bytes of headers, no
// media sample, which the client compares across chunks and reads the
// codec from. For an s3:// OUTPUT the segments go to the publish's staging
// and never come back; otherwise the session downloads them. For an s3://
// source of a ladder a probe-only SourceJob probes it and an AudioJob
// encodes its audio renditions, so that no media byte passes through the
// machine that runs chunkcode.
//
// The files follow the wire: protocol.go holds what crosses it (Request,
// Response, the error kinds, the version and the staging objects' names);
// the client side is backend.go, client.go, staging.go, store.go,
// source.go and chunk.go; the function side is handler.go,
// source_handler.go and chunk_handler.go. publish.go hands a ladder to
// package publish, which puts it in S3, and rungs.go prices a ladder's
// invocations per rung.
// Package deploy packages and deploys the function.
//
// The package imports transcode; transcode never imports it.
package lambda
