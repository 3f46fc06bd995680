// Package publish puts a finished streaming ladder (HLS playlists, DASH
// manifests and their CMAF segments) under an s3:// prefix so that no half
// ladder is ever visible there.
//
// The segments are first written to a staging prefix, by the functions that
// encode them (to StagingKey, through presigned URLs) or with Stage. Commit
// checks them against the sizes the encoders reported, copies them into
// place with S3 server-side copy, writes the playlists and, last, the
// top-level manifests, then deletes the staging objects.
//
// # Generations
//
// Every object but the top-level manifests goes under a directory of its
// own, a generation (Ladder.Dir, such as "chunkcode-20261202T151000Z-1a2b3c4d/"),
// that no earlier publish used, and the top-level manifests name their
// playlists (HLS) or segments (DASH) inside it. So nothing a player may be
// reading is ever overwritten but the top-level manifests, each in one PUT,
// which S3 makes visible whole: a player reads either the old manifest,
// whose generation is untouched, or the new one, whose every object is
// already in place (S3 reads are strongly consistent: an object is
// readable once its PUT or copy has returned). A player never sees a
// playlist naming a missing segment, nor old playlists over new segments.
//
// On failure before the first top-level manifest is written, Commit
// deletes what it copied and the staging objects, and the prefix is as it
// was: an older ladder there is untouched. When S3 itself is down the
// deletes fail too; the error then names what is left, none of which any
// manifest names. With several top-level manifests (HLS and DASH over one
// set of segments) a failure after the first is written leaves that one
// published, complete, and says so.
//
// # Older generations
//
// A player that loaded the old manifest just before it was replaced may
// still be fetching its segments, so Commit keeps the generations the
// manifests at the prefix named just before it wrote its own. Once its
// manifests are written it deletes every other generation under the prefix
// that no manifest there names: the one before the previous, and what
// failed publishes left. One ladder is published to a prefix at a time;
// two at once may delete each other's generation.
//
// # What it needs
//
// No media byte passes through the process that publishes: the copies are
// server-side and it writes only the playlists and manifests. Its S3
// identity needs s3:PutObject, s3:GetObject, s3:DeleteObject and
// s3:AbortMultipartUpload on the output prefix and the staging prefix, and
// s3:ListBucket on both buckets.
//
// The package never prints, reads flags or exits.
package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Defaults of Options.
const (
	// DefaultCacheControl is for segments, init segments and WebVTT
	// files. A generation's objects never change, so they may be cached
	// for good.
	DefaultCacheControl = "public, max-age=31536000, immutable"
	// DefaultPlaylistCacheControl is for playlists and manifests: a
	// republished ladder is seen within seconds.
	DefaultPlaylistCacheControl = "public, max-age=5"
	// DefaultStagingPrefix is where staging objects go in the staging
	// bucket, under a directory of each publish's own.
	DefaultStagingPrefix = "chunkcode/"
	// MaxCopySize is the largest object one CopyObject copies; larger ones
	// are copied in parts (UploadPartCopy).
	MaxCopySize = 5 << 30
	// DefaultPartSize is the part size of a multipart copy.
	DefaultPartSize = 512 << 20
	// MinPartSize is the smallest part S3 takes but the last.
	MinPartSize = 5 << 20
	// DefaultConcurrency is how many copies, parts or PUTs run at once.
	DefaultConcurrency = 16
)

// S3 takes at most this many parts in one multipart upload.
const maxParts = 10_000

// Options configure a publish. The zero value is valid.
type Options struct {
	// CacheControl is the Cache-Control of segments, init segments and
	// WebVTT files; "" is DefaultCacheControl.
	CacheControl string
	// PlaylistCacheControl is the Cache-Control of playlists and
	// manifests; "" is DefaultPlaylistCacheControl.
	PlaylistCacheControl string
	// StagingBucket holds the staging objects; "" is the target's bucket.
	// A copy from a bucket in another region is slower, and its transfer
	// is billed.
	StagingBucket string
	// StagingPrefix is the key prefix of the staging objects, each
	// publish under a directory of its own; "" is DefaultStagingPrefix.
	// With a target at the root of the staging bucket, the staging
	// objects are under the output prefix while the publish runs.
	StagingPrefix string
	// MultipartAbove is the size above which an object is copied in parts
	// rather than with one CopyObject; 0 is MaxCopySize. Tests lower it to
	// exercise the multipart path with small objects.
	MultipartAbove int64
	// PartSize is the part size of a multipart copy, at least
	// MinPartSize, and raised when the object would need more than 10,000
	// parts; 0 is DefaultPartSize.
	PartSize int64
	// Concurrency bounds the copies and the PUTs in flight, and the parts
	// in flight of each multipart copy; 0 is DefaultConcurrency.
	Concurrency int
}

// Errors of a publish.
var (
	// ErrVerify is wrapped when a staged object is missing or not the
	// size its encoder reported, or the manifests name a file that is not
	// in the ladder. Nothing has been written under the target's prefix.
	ErrVerify = errors.New("ladder does not verify")
	// ErrDone is returned by Stage and Commit after Commit or Abort.
	ErrDone = errors.New("publish already committed or aborted")
)

// Ladder is one publish of a ladder to a Target: Begin it, stage its
// segments, then Commit it or Abort it. Its methods are safe for
// concurrent use, but Commit and Abort end it.
type Ladder struct {
	client  *s3.Client
	target  Target
	opts    Options
	dir     string // the generation, relative to target.Prefix, ending in "/"
	staging string // the staging directory, ending in "/"

	mu   sync.Mutex
	done bool
}

// Begin starts a publish of a ladder to target through client. It sends
// nothing to S3.
func Begin(client *s3.Client, target Target, opts Options) (*Ladder, error) {
	if target.Bucket == "" || target.Master == "" {
		return nil, fmt.Errorf("publish: incomplete target %+v", target)
	}
	if opts.CacheControl == "" {
		opts.CacheControl = DefaultCacheControl
	}
	if opts.PlaylistCacheControl == "" {
		opts.PlaylistCacheControl = DefaultPlaylistCacheControl
	}
	if opts.StagingBucket == "" {
		opts.StagingBucket = target.Bucket
	}
	if opts.StagingPrefix == "" {
		opts.StagingPrefix = DefaultStagingPrefix
	}
	if !strings.HasSuffix(opts.StagingPrefix, "/") {
		opts.StagingPrefix += "/"
	}
	if opts.MultipartAbove <= 0 {
		opts.MultipartAbove = MaxCopySize
	}
	if opts.PartSize <= 0 {
		opts.PartSize = DefaultPartSize
	}
	opts.PartSize = max(opts.PartSize, MinPartSize)
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	id := generation(time.Now())
	l := &Ladder{
		client: client, target: target, opts: opts,
		dir:     id + "/",
		staging: opts.StagingPrefix + "publish-" + id + "/",
	}
	if opts.StagingBucket == target.Bucket && (strings.HasPrefix(l.staging, target.Prefix+l.dir) || strings.HasPrefix(target.Prefix+l.dir, l.staging)) {
		return nil, fmt.Errorf("publish %s: staging prefix %s overlaps the output", target, opts.StagingPrefix)
	}
	return l, nil
}

// generation names a generation: chunkcode-, the UTC time to the second,
// and 32 random bits.
func generation(now time.Time) string {
	var r [4]byte
	rand.Read(r[:])
	return "chunkcode-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
}

// generationRE matches the name of a generation, as generation makes it.
var generationRE = regexp.MustCompile(`chunkcode-\d{8}T\d{6}Z-[0-9a-f]{8}`)

// Dir returns the generation directory, relative to the target's prefix
// and ending in "/": the top-level manifests name what they refer to
// through it, as in Dir()+"720p/index.m3u8".
func (l *Ladder) Dir() string { return l.dir }

// Target returns where the ladder is published.
func (l *Ladder) Target() Target { return l.target }

// StagingKey returns the key, in the staging bucket, that the file name
// (relative to Dir) is staged at, for an encoder to PUT it to.
func (l *Ladder) StagingKey(name string) string { return l.staging + name }

// StagingBucket returns the bucket of the staging keys.
func (l *Ladder) StagingBucket() string { return l.opts.StagingBucket }

// Stage uploads body as the file name, relative to Dir, to its staging key.
// body is read from its start; retries seek back to it.
func (l *Ladder) Stage(ctx context.Context, name string, body io.ReadSeeker) error {
	if l.isDone() {
		return ErrDone
	}
	if err := checkName(name); err != nil {
		return fmt.Errorf("stage %q: %v", name, err)
	}
	key := l.StagingKey(name)
	if _, err := l.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &l.opts.StagingBucket, Key: &key, Body: body}); err != nil {
		return fmt.Errorf("stage s3://%s/%s: %w", l.opts.StagingBucket, key, err)
	}
	return nil
}

func (l *Ladder) isDone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// finish marks the publish done; it returns false when it already was.
func (l *Ladder) finish() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return false
	}
	l.done = true
	return true
}

// Media is a staged file of the ladder: a segment, an init segment or a
// WebVTT file, named relative to Dir, with the size its encoder reported.
type Media struct {
	Name string
	Size int64
}

// File is a playlist or manifest that Commit writes from memory.
type File struct {
	Name string
	Data []byte
}

// Contents is the whole ladder Commit publishes.
type Contents struct {
	// Media are the staged files, named relative to Dir.
	Media []Media
	// Playlists are the media playlists, named relative to Dir, written
	// once every Media is in place.
	Playlists []File
	// Manifests are the top-level manifests, named relative to the
	// target's prefix with no directory; one is the target's Master. They
	// are written last, one after the other, in this order.
	Manifests []File
}

// Report describes a committed publish.
type Report struct {
	// Dir is the generation the ladder went to.
	Dir string `json:"dir"`
	// Objects and Bytes count the copied media and the written playlists
	// and manifests.
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// MultipartCopies counts the media copied in parts.
	MultipartCopies int `json:"multipart_copies,omitempty"`
	// Seconds is the wall time of Commit.
	Seconds float64 `json:"seconds"`
	// Pruned are the older generations deleted, relative to the prefix.
	Pruned []string `json:"pruned,omitempty"`
	// Warnings are problems that did not fail the publish, such as
	// staging objects or older generations that could not be deleted.
	Warnings []string `json:"warnings,omitempty"`
}

// Commit publishes contents: it checks that every Media is staged with its
// size and that the manifests and playlists name only files of contents,
// copies the media into Dir, writes the playlists, then the manifests, and
// deletes the staging objects. On failure it deletes what it wrote and the
// staging objects, and the error says what could not be deleted (see the
// package documentation for what a failure leaves). Commit or Abort may be
// called once.
func (l *Ladder) Commit(ctx context.Context, c Contents) (Report, error) {
	if !l.finish() {
		return Report{}, ErrDone
	}
	start := time.Now()
	rep, err := l.commit(ctx, c)
	rep.Seconds = time.Since(start).Seconds()
	if err != nil {
		return rep, fmt.Errorf("publish %s: %w", l.target, err)
	}
	return rep, nil
}

func (l *Ladder) commit(ctx context.Context, c Contents) (Report, error) {
	rep := Report{Dir: l.dir}
	if err := l.check(c); err != nil {
		return rep, l.cleanup(err, true)
	}
	sizes, err := l.staged(ctx)
	if err != nil {
		return rep, l.cleanup(fmt.Errorf("list staging objects: %w", err), true)
	}
	var problems []string
	for _, m := range c.Media {
		got, ok := sizes[m.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is not staged (s3://%s/%s)", m.Name, l.opts.StagingBucket, l.StagingKey(m.Name)))
		case got != m.Size:
			problems = append(problems, fmt.Sprintf("%s is staged with %d bytes, its encoder made %d", m.Name, got, m.Size))
		}
	}
	if len(problems) > 0 {
		err := fmt.Errorf("%w: %s", ErrVerify, problems[0])
		if len(problems) > 1 {
			err = fmt.Errorf("%w (and %d more)", err, len(problems)-1)
		}
		return rep, l.cleanup(err, true)
	}

	// Media, then playlists, all inside the generation, which nothing
	// names yet.
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.opts.Concurrency)
	for _, m := range c.Media {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			parts, err := l.copy(gctx, m)
			if err != nil {
				return err
			}
			mu.Lock()
			rep.Objects++
			rep.Bytes += m.Size
			if parts > 0 {
				rep.MultipartCopies++
			}
			mu.Unlock()
			return nil
		})
	}
	if err := waitCtx(ctx, g); err != nil {
		return rep, l.cleanup(err, true)
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(l.opts.Concurrency)
	for _, f := range c.Playlists {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return l.put(gctx, l.target.Prefix+l.dir+f.Name, f.Data) })
	}
	if err := waitCtx(ctx, g); err != nil {
		return rep, l.cleanup(err, true)
	}
	rep.Objects += len(c.Playlists)
	for _, f := range c.Playlists {
		rep.Bytes += int64(len(f.Data))
	}

	// The manifests, last: from here on the generation is named. The
	// generations named before are kept for the players still reading
	// them.
	keep, kerr := l.named(ctx)
	for i, f := range c.Manifests {
		if err := l.put(ctx, l.target.Prefix+f.Name, f.Data); err != nil {
			if i == 0 {
				return rep, l.cleanup(err, true)
			}
			var names []string
			for _, w := range c.Manifests[:i] {
				names = append(names, w.Name)
			}
			return rep, l.cleanup(fmt.Errorf("%s published, but not the rest: %w", strings.Join(names, ", "), err), false)
		}
		rep.Objects++
		rep.Bytes += int64(len(f.Data))
	}
	ctx = context.WithoutCancel(ctx)
	if err := l.deletePrefix(ctx, l.opts.StagingBucket, l.staging); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("delete staging objects under s3://%s/%s: %v", l.opts.StagingBucket, l.staging, err))
	}
	if kerr != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("keep older generations: %v", kerr))
		return rep, nil
	}
	pruned, err := l.prune(ctx, keep)
	rep.Pruned = pruned
	if err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("delete older generations: %v", err))
	}
	return rep, nil
}

// waitCtx waits for g and returns its error, or ctx's when ctx ended
// before g started everything.
func waitCtx(ctx context.Context, g *errgroup.Group) error {
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// cleanup deletes the staging objects and, when generation is set, the
// generation, and returns err with what could not be deleted. Set
// generation when no manifest has been written: err then says that the
// manifests at the prefix are unchanged.
func (l *Ladder) cleanup(err error, generation bool) error {
	if generation {
		err = fmt.Errorf("manifests unchanged: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if derr := l.deletePrefix(ctx, l.opts.StagingBucket, l.staging); derr != nil {
		err = fmt.Errorf("%w; staging objects left under s3://%s/%s: %v", err, l.opts.StagingBucket, l.staging, derr)
	}
	if generation {
		if derr := l.deletePrefix(ctx, l.target.Bucket, l.target.Prefix+l.dir); derr != nil {
			err = fmt.Errorf("%w; objects no manifest names left under %s: %v", err, l.target.URL(l.dir), derr)
		}
	}
	return err
}

// cleanupTimeout bounds the deletes after a failure, which run even when
// the caller's context has ended.
const cleanupTimeout = 30 * time.Second

// Abort ends a publish that will not be committed: it deletes the staging
// objects and anything under Dir. It does nothing after Commit, so it may
// be deferred. It returns what could not be deleted. An upload to a
// staging key still running (a Stage, or a function's PUT) may land after
// the deletion; it is never under the output prefix, and a lifecycle rule
// on the staging prefix removes it.
func (l *Ladder) Abort(ctx context.Context) error {
	if !l.finish() {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var errs []error
	if err := l.deletePrefix(ctx, l.opts.StagingBucket, l.staging); err != nil {
		errs = append(errs, fmt.Errorf("staging objects left under s3://%s/%s: %w", l.opts.StagingBucket, l.staging, err))
	}
	if err := l.deletePrefix(ctx, l.target.Bucket, l.target.Prefix+l.dir); err != nil {
		errs = append(errs, fmt.Errorf("objects no manifest names left under %s: %w", l.target.URL(l.dir), err))
	}
	return first(errs)
}

// first returns the first of errs, saying how many more there are, or nil:
// one line, where errors.Join would give each a line of its own.
func first(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more errors)", errs[0], len(errs)-1)
}

// check verifies contents before anything is copied: valid, unique names
// with a known content type; a manifest named as the target's master, with
// no directory; and every URI of a playlist or manifest naming a file of
// contents.
func (l *Ladder) check(c Contents) error {
	files := map[string]bool{} // relative to the target's prefix
	add := func(kind, name string, wantManifest bool) error {
		if err := checkName(name); err != nil {
			return fmt.Errorf("%w: %s %q: %v", ErrVerify, kind, name, err)
		}
		if ContentType(name) == "" {
			return fmt.Errorf("%w: %s %q: not a .m3u8, .mpd, .m4s, .mp4 or .vtt file", ErrVerify, kind, name)
		}
		if isManifest(name) != wantManifest {
			return fmt.Errorf("%w: %s %q has the wrong extension for one", ErrVerify, kind, name)
		}
		full := name
		if kind != "manifest" {
			full = l.dir + name
		}
		if files[full] {
			return fmt.Errorf("%w: %s %q given twice", ErrVerify, kind, name)
		}
		files[full] = true
		return nil
	}
	for _, m := range c.Media {
		if err := add("media", m.Name, false); err != nil {
			return err
		}
		if m.Size <= 0 {
			return fmt.Errorf("%w: media %q: size %d", ErrVerify, m.Name, m.Size)
		}
	}
	for _, f := range c.Playlists {
		if err := add("playlist", f.Name, true); err != nil {
			return err
		}
	}
	master := false
	for _, f := range c.Manifests {
		if err := add("manifest", f.Name, true); err != nil {
			return err
		}
		if strings.Contains(f.Name, "/") {
			return fmt.Errorf("%w: manifest %q is not at the target's prefix", ErrVerify, f.Name)
		}
		master = master || f.Name == l.target.Master
	}
	if !master {
		return fmt.Errorf("%w: no manifest %s", ErrVerify, l.target.Master)
	}
	for _, f := range c.Playlists {
		if err := checkRefs(l.dir+f.Name, f.Data, files); err != nil {
			return err
		}
	}
	for _, f := range c.Manifests {
		if err := checkRefs(f.Name, f.Data, files); err != nil {
			return err
		}
	}
	return nil
}

// staged returns the size of every staged object, by name.
func (l *Ladder) staged(ctx context.Context) (map[string]int64, error) {
	sizes := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.opts.StagingBucket, Prefix: &l.staging})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			sizes[strings.TrimPrefix(aws.ToString(o.Key), l.staging)] = aws.ToInt64(o.Size)
		}
	}
	return sizes, nil
}

// put writes data to key in the target's bucket with its content type and
// the playlists' Cache-Control.
func (l *Ladder) put(ctx context.Context, key string, data []byte) error {
	_, err := l.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &l.target.Bucket, Key: &key, Body: strings.NewReader(string(data)),
		ContentType:  aws.String(ContentType(key)),
		CacheControl: aws.String(l.opts.PlaylistCacheControl),
	})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", l.target.Bucket, key, err)
	}
	return nil
}

// deletePrefix deletes every object under prefix in bucket.
func (l *Ladder) deletePrefix(ctx context.Context, bucket, prefix string) error {
	var keys []string
	p := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	var errs []error
	for batch := range slices.Chunk(keys, 1000) {
		ids := make([]s3types.ObjectIdentifier, len(batch))
		for i := range batch {
			ids[i] = s3types.ObjectIdentifier{Key: &batch[i]}
		}
		out, err := l.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &bucket, Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %d objects: %w", len(batch), err))
			continue
		}
		for _, e := range out.Errors {
			errs = append(errs, fmt.Errorf("delete %s: %s", aws.ToString(e.Key), aws.ToString(e.Message)))
		}
	}
	return first(errs)
}

// named returns the generations the manifests at the prefix name, and this
// publish's own.
func (l *Ladder) named(ctx context.Context) (map[string]bool, error) {
	names := map[string]bool{strings.TrimSuffix(l.dir, "/"): true}
	_, files, err := l.listDir(ctx)
	if err != nil {
		return nil, err
	}
	for _, key := range files {
		if !isManifest(key) {
			continue
		}
		out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.target.Bucket, Key: &key})
		if err != nil {
			return nil, fmt.Errorf("read s3://%s/%s: %w", l.target.Bucket, key, err)
		}
		text, err := io.ReadAll(io.LimitReader(out.Body, maxManifest))
		out.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read s3://%s/%s: %w", l.target.Bucket, key, err)
		}
		for _, g := range generationRE.FindAllString(string(text), -1) {
			names[g] = true
		}
	}
	return names, nil
}

// maxManifest bounds what named reads of one manifest; a ladder's manifest
// names its generation in its first lines.
const maxManifest = 16 << 20

// prune deletes the generations under the prefix that are not in keep and
// that no manifest there names now, and returns them, each ending in "/".
func (l *Ladder) prune(ctx context.Context, keep map[string]bool) ([]string, error) {
	now, err := l.named(ctx)
	if err != nil {
		return nil, err
	}
	dirs, _, err := l.listDir(ctx)
	if err != nil {
		return nil, err
	}
	var pruned []string
	var errs []error
	for _, d := range dirs {
		g := strings.TrimSuffix(d, "/")
		if generationRE.FindString(g) != g || keep[g] || now[g] {
			continue
		}
		if err := l.deletePrefix(ctx, l.target.Bucket, l.target.Prefix+d); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.target.URL(d), err))
			continue
		}
		pruned = append(pruned, d)
	}
	return pruned, first(errs)
}

// listDir lists the target's prefix one level deep: the directories under
// it, relative to it and ending in "/", and the keys of the objects in it.
func (l *Ladder) listDir(ctx context.Context) (dirs, keys []string, err error) {
	p := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{
		Bucket: &l.target.Bucket, Prefix: &l.target.Prefix, Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list %s: %w", l.target.URL(""), err)
		}
		for _, cp := range page.CommonPrefixes {
			dirs = append(dirs, strings.TrimPrefix(aws.ToString(cp.Prefix), l.target.Prefix))
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return dirs, keys, nil
}
