package lambda

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/media"
)

// ReadsSource reports whether input is an s3://bucket/key URL, which the
// backend reads where it lies.
func (b *Backend) ReadsSource(input string) bool {
	_, _, ok := ParseS3URL(input)
	return ok
}

// ReadSource runs one source job for the s3:// input and downloads what it
// made into dir: the probe, the encoded audio and the extras. Only those
// travel to this machine, never the source itself. A source that is not
// media chunkcode can transcode is an *media.Error naming input.
//
// The function's files are kept under a run prefix of their own until the
// Source's Close deletes them; a failed read deletes them at once.
func (b *Backend) ReadSource(ctx context.Context, input string, prof transcode.Profile, dir string) (_ *transcode.Source, err error) {
	b.fetchConfig(ctx)
	srcURL, err := b.sourceURL(ctx, input)
	if err != nil {
		return nil, err
	}
	run := runPrefix(b.opts.Prefix)
	base := run + "source/"
	closeRead := func(ctx context.Context, keep bool) error {
		if keep {
			return nil
		}
		if err := b.store.deletePrefix(ctx, base); err != nil {
			return fmt.Errorf("delete the source job's objects under %s: %w", b.store.objectURL(base), err)
		}
		return nil
	}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), transcode.CleanupTimeout)
			defer cancel()
			closeRead(cctx, false)
		}
	}()
	keys := sourceJobObjects(run, prof.AudioCodec.Ext())
	urls := map[string]string{}
	for what, key := range keys {
		if urls[what], err = b.store.putURL(ctx, key); err != nil {
			return nil, fmt.Errorf("presign %s: %w", b.store.objectURL(key), err)
		}
	}
	req := Request{Version: segmentVersion, Source: &SourceJob{
		URL: srcURL, Profile: prof, ProbeURL: urls["probe"], AudioURL: urls["audio"], ExtrasURL: urls["extras"],
	}}

	t := time.Now()
	resp, rep, err := b.invoke(ctx, req)
	invokeTime := time.Since(t)
	if err != nil {
		var fe *FunctionError
		if errors.As(err, &fe) && fe.Kind == KindMedia {
			return nil, fe.mediaError(input)
		}
		return nil, fmt.Errorf("read %s: %w", input, err)
	}
	if resp.Source == nil {
		return nil, fmt.Errorf("read %s: the function did not answer the source job (is it older than this chunkcode?)", input)
	}

	t = time.Now()
	src := &transcode.Source{Extras: filepath.Join(dir, "extras"), Close: closeRead}
	files := []struct {
		what, path string
		bytes      int64
	}{
		{"probe", filepath.Join(dir, "probe.json.gz"), resp.Source.ProbeBytes},
		{"audio", filepath.Join(dir, "audio"+prof.AudioCodec.Ext()), resp.Source.AudioBytes},
		{"extras", src.Extras, resp.Source.ExtrasBytes},
	}
	for _, f := range files {
		if f.bytes == 0 && f.what == "audio" {
			continue
		}
		n, err := b.store.download(ctx, keys[f.what], f.path)
		if err != nil {
			return nil, fmt.Errorf("download %s of %s from %s: %w", f.what, input, b.store.objectURL(keys[f.what]), err)
		}
		if n != f.bytes {
			return nil, fmt.Errorf("download %s of %s: %d bytes, function made %d", f.what, input, n, f.bytes)
		}
		if f.what == "audio" {
			src.Audio = f.path
		}
	}
	if src.Media, err = parseProbe(files[0].path, input); err != nil {
		return nil, err
	}
	src.Remote = b.remoteStats(invokeTime, rep, resp, time.Since(t))
	return src, nil
}

// parseProbe reads the gzipped probe at path as the probe of input.
func parseProbe(path, input string) (*media.Media, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read probe of %s: %w", input, err)
	}
	return ffmpeg.ParseProbe(gz, input)
}
