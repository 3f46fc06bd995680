package lambda

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chunkcode/chunkcode/merger"
	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/media"
	"go.opentelemetry.io/otel/attribute"
	"golang.org/x/sync/errgroup"
)

// handleSource runs a source job: it probes the source into a gzipped JSON
// document, then encodes the audio and writes the extras at the same time,
// and uploads the three.
func (h *Handler) handleSource(ctx context.Context, job SourceJob) (Response, error) {
	if err := h.validateSource(&job); err != nil {
		return Response{}, &FunctionError{Kind: KindInvalid, Message: err.Error()}
	}
	if err := h.injectFault(); err != nil {
		return Response{}, err
	}
	if err := h.Runner.Check(); err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: fmt.Sprintf("%v; an s3:// INPUT needs ffprobe beside ffmpeg in the layer or the package", err)}
	}
	dir, err := h.jobDir("source")
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	defer h.removeJobDir(dir)

	t := time.Now()
	opts, err := h.inputOptions(job.URL)
	if err != nil {
		return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
	}
	probe := filepath.Join(dir, "probe.json.gz")
	var src *media.Media
	err = h.traced(ctx, "ffprobe", func(ctx context.Context) (err error) {
		src, err = h.probe(ctx, job.URL, probe, opts)
		return err
	})
	if err != nil {
		var me *media.Error
		if errors.As(err, &me) {
			return Response{}, mediaFunctionError(me).redact(job.URL)
		}
		return Response{}, encodeError(ctx, fmt.Errorf("probe: %w", err)).redact(job.URL)
	}

	if job.ProbeOnly {
		read := time.Since(t)
		fi, err := os.Stat(probe)
		if err != nil {
			return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
		}
		t = time.Now()
		if err := h.upload(ctx, "probe", job.ProbeURL, probe, fi.Size()); err != nil {
			return Response{}, &FunctionError{Kind: KindUpload, Message: err.Error()}
		}
		return Response{
			Version: ProtocolVersion, Bytes: fi.Size(), EncodeSeconds: read.Seconds(), UploadSeconds: time.Since(t).Seconds(),
			FFmpeg: h.ffmpegVersion(ctx), Source: &SourceResult{ProbeBytes: fi.Size()},
		}, nil
	}
	audio := ""
	copyAudio := job.Profile.AudioCodec == media.AudioCopy
	if !copyAudio && len(src.StreamsOf(media.Audio)) > 0 {
		audio = filepath.Join(dir, "audio"+job.Profile.AudioCodec.Ext())
	}
	extras := filepath.Join(dir, "extras")
	g, gctx := errgroup.WithContext(ctx)
	if audio != "" {
		g.Go(func() error {
			return h.traced(gctx, "audio", func(ctx context.Context) error {
				if err := h.Runner.WithHugePages().Run(ctx, transcode.AudioArgs(src, job.Profile, audio, opts...), nil); err != nil {
					return fmt.Errorf("encode audio: %w", err)
				}
				return nil
			})
		})
	}
	g.Go(func() error {
		return h.traced(gctx, "extras", func(ctx context.Context) error {
			if err := h.Runner.Run(ctx, merger.ExtrasArgs(src, copyAudio, extras, opts...), nil); err != nil {
				return fmt.Errorf("copy extras: %w", err)
			}
			return nil
		})
	})
	if err := g.Wait(); err != nil {
		return Response{}, encodeError(ctx, err).redact(job.URL)
	}
	read := time.Since(t)

	var res SourceResult
	uploads := []struct {
		what, url, path string
		bytes           *int64
	}{
		{"probe", job.ProbeURL, probe, &res.ProbeBytes},
		{"audio", job.AudioURL, audio, &res.AudioBytes},
		{"extras", job.ExtrasURL, extras, &res.ExtrasBytes},
	}
	t = time.Now()
	for _, u := range uploads {
		if u.path == "" {
			continue
		}
		fi, err := os.Stat(u.path)
		if err != nil {
			return Response{}, &FunctionError{Kind: KindInternal, Message: err.Error()}
		}
		err = h.traced(ctx, "upload", func(ctx context.Context) error {
			return h.upload(ctx, u.what, u.url, u.path, fi.Size())
		}, attribute.String("chunkcode.file", u.what), attribute.Int64("chunkcode.bytes", fi.Size()))
		if err != nil {
			return Response{}, &FunctionError{Kind: KindUpload, Message: err.Error()}
		}
		*u.bytes = fi.Size()
	}
	return Response{
		Version: ProtocolVersion, Bytes: res.ProbeBytes + res.AudioBytes + res.ExtrasBytes,
		EncodeSeconds: read.Seconds(), UploadSeconds: time.Since(t).Seconds(),
		FFmpeg: h.ffmpegVersion(ctx), Source: &res,
	}, nil
}

// probe probes url and writes ffprobe's JSON document, gzipped, to path.
// The document names its input (format.filename): every occurrence of url
// in it is written without the query, so that the presigned signature and
// session token never reach the staging bucket.
func (h *Handler) probe(ctx context.Context, url, path string, opts []string) (*media.Media, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	doc := newReplacer(gz, url, withoutQuery(url))
	src, err := h.Runner.ProbeCopy(ctx, url, doc, opts...)
	if err != nil {
		return nil, err
	}
	if err := doc.Flush(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return src, f.Close()
}

// replacer is a writer that writes what it is given to w with every
// occurrence of old replaced by new, also across Writes; Flush writes what
// it holds back.
type replacer struct {
	w        io.Writer
	old, new []byte
	held     []byte // the end of the input, which may begin an occurrence
}

func newReplacer(w io.Writer, old, new string) *replacer {
	return &replacer{w: w, old: []byte(old), new: []byte(new)}
}

func (r *replacer) Write(p []byte) (int, error) {
	if len(r.old) == 0 {
		return r.w.Write(p)
	}
	buf := bytes.ReplaceAll(append(r.held, p...), r.old, r.new)
	keep := min(len(buf), len(r.old)-1)
	if _, err := r.w.Write(buf[:len(buf)-keep]); err != nil {
		return 0, err
	}
	r.held = append(r.held[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// Flush writes what r holds back.
func (r *replacer) Flush() error {
	_, err := r.w.Write(r.held)
	r.held = r.held[:0]
	return err
}

// validateSource checks every value of job that comes from outside.
func (h *Handler) validateSource(job *SourceJob) error {
	if err := job.Profile.CheckAudio(); err != nil {
		return err
	}
	urls := []struct{ what, url string }{
		{"source", job.URL}, {"probe", job.ProbeURL}, {"audio", job.AudioURL}, {"extras", job.ExtrasURL},
	}
	if job.ProbeOnly {
		urls = urls[:2]
	}
	for _, u := range urls {
		if err := h.checkURL(u.what, u.url); err != nil {
			return err
		}
	}
	return nil
}
