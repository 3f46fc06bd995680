package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chunkcode/chunkcode/transcode/lambda/lambdatest"
	"github.com/chunkcode/chunkcode/transcode/manifest"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLadder is a small HLS and DASH ladder over one set of segments: two
// video rungs and one audio rendition of three segments each, with init
// segments, and one WebVTT file. The media are bytes, not media: S3 does
// not look inside them.
type fakeLadder struct {
	contents publish.Contents
	media    map[string][]byte // by name, relative to the generation
}

func newFakeLadder(t *testing.T, dir string, seed byte, segmentSize int) fakeLadder {
	t.Helper()
	l := fakeLadder{media: map[string][]byte{}}
	addMedia := func(name string, size int) {
		b := bytes.Repeat([]byte{seed, byte(len(l.media))}, size/2+1)[:size]
		l.media[name] = b
		l.contents.Media = append(l.contents.Media, publish.Media{Name: name, Size: int64(size)})
	}
	master := manifest.Master{}
	mpd := manifest.MPD{
		MediaPresentationDuration: manifest.DurationOf(14),
		MaxSegmentDuration:        manifest.DurationOf(6),
		MinBufferTime:             manifest.DurationOf(2),
	}
	var video, audio manifest.AdaptationSet
	video = manifest.AdaptationSet{ID: 0, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1}
	audio = manifest.AdaptationSet{ID: 1, ContentType: "audio", MimeType: "audio/mp4", Lang: "en", SegmentAlignment: true, StartWithSAP: 1}
	for _, id := range []string{"360p", "180p", "audio-en"} {
		addMedia(id+"/init.mp4", 600)
		pl := manifest.Playlist{Init: "init.mp4"}
		for i := range 3 {
			addMedia(fmt.Sprintf("%s/seg%d.m4s", id, i), segmentSize)
			pl.Segments = append(pl.Segments, manifest.Segment{URI: fmt.Sprintf("seg%d.m4s", i), Duration: []float64{6, 6, 2}[i]})
		}
		text, err := pl.HLS()
		require.NoError(t, err)
		l.contents.Playlists = append(l.contents.Playlists, publish.File{Name: id + "/index.m3u8", Data: text})
		tmpl := &manifest.SegmentTemplate{
			Timescale: 12800, Initialization: dir + id + "/init.mp4", Media: dir + id + "/seg$Number$.m4s",
			SegmentTimeline: manifest.NewTimeline(0, []uint64{76800, 76800, 25600}),
		}
		if id == "audio-en" {
			master.Audio = append(master.Audio, manifest.Rendition{URI: dir + id + "/index.m3u8", Language: "en", Name: "English"})
			audio.Representations = append(audio.Representations, manifest.Representation{
				ID: id, Bandwidth: 130_000, Codecs: manifest.AACLC, AudioSamplingRate: 48000, SegmentTemplate: tmpl,
			})
			continue
		}
		h := map[string]int{"360p": 360, "180p": 180}[id]
		master.Variants = append(master.Variants, manifest.Variant{
			URI: dir + id + "/index.m3u8", Bandwidth: 1000 * h, AverageBandwidth: 800 * h,
			Codecs: "avc1.64001e,mp4a.40.2", Width: h * 16 / 9, Height: h, FrameRate: 25,
		})
		video.Representations = append(video.Representations, manifest.Representation{
			ID: id, Bandwidth: 1000 * h, Codecs: "avc1.64001e", Width: h * 16 / 9, Height: h, FrameRate: "25", SegmentTemplate: tmpl,
		})
	}
	addMedia("subs-en.vtt", 100)
	mpd.Periods = []manifest.Period{{ID: "0", AdaptationSets: []manifest.AdaptationSet{video, audio,
		{ID: 2, ContentType: "text", MimeType: "text/vtt", Lang: "en",
			Representations: []manifest.Representation{{ID: "subs-en", Bandwidth: 256, BaseURL: dir + "subs-en.vtt"}}}}}}
	text, err := master.HLS()
	require.NoError(t, err)
	l.contents.Manifests = append(l.contents.Manifests, publish.File{Name: "master.m3u8", Data: text})
	text, err = mpd.Encode()
	require.NoError(t, err)
	l.contents.Manifests = append(l.contents.Manifests, publish.File{Name: "manifest.mpd", Data: text})
	return l
}

// stage uploads every media file of l with pub.Stage.
func (l fakeLadder) stage(t *testing.T, pub *publish.Ladder) {
	t.Helper()
	for name, b := range l.media {
		require.NoError(t, pub.Stage(context.Background(), name, bytes.NewReader(b)))
	}
}

// files returns every object l publishes under the target's prefix, by key
// relative to it.
func (l fakeLadder) files(dir string) map[string][]byte {
	m := map[string][]byte{}
	for name, b := range l.media {
		m[dir+name] = b
	}
	for _, f := range l.contents.Playlists {
		m[dir+f.Name] = f.Data
	}
	for _, f := range l.contents.Manifests {
		m[f.Name] = f.Data
	}
	return m
}

// request is one request the proxy forwarded: its S3 operation and key.
type request struct{ op, key string }

// proxy stands in front of the S3 server: it records the requests that
// write, and can fail the copies after a number of them, with S3's 503, or
// call a hook at a copy.
type proxy struct {
	URL string

	mu         sync.Mutex
	writes     []request
	sent       []int64   // the request body's length of each write
	reads      []request // GETs and HEADs
	copies     int
	failCopies int         // copies after this many fail; 0: none fail
	down       bool        // every request fails
	onCopy     func(n int) // called before copy n (from 1) is forwarded
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &proxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = u.Scheme, u.Host
			pr.Out.Host = pr.In.Host
		},
		ErrorLog: log.New(io.Discard, "", 0), // a stopped server is expected
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		p.mu.Lock()
		fail := p.down
		var hook func(int)
		n := 0
		if op == "copy" || op == "part-copy" {
			p.copies++
			n = p.copies
			fail = fail || p.failCopies > 0 && n > p.failCopies
			hook = p.onCopy
		}
		switch {
		case fail:
		case op == "read":
			p.reads = append(p.reads, request{r.Method, key(r)})
		default:
			p.writes = append(p.writes, request{op, key(r)})
			p.sent = append(p.sent, max(r.ContentLength, 0))
		}
		p.mu.Unlock()
		if hook != nil {
			hook(n)
		}
		if fail {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>test: S3 is down</Message></Error>`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// operation names the S3 operation of a path-style request.
func operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return "read"
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" && q.Has("partNumber"):
		return "part-copy"
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "copy"
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "part"
	case r.Method == http.MethodPut:
		return "put"
	case r.Method == http.MethodPost && q.Has("delete"):
		return "delete"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "create-multipart"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "complete-multipart"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "abort-multipart"
	}
	return strings.ToLower(r.Method)
}

// key returns the object key of a path-style request to the test bucket.
func key(r *http.Request) string {
	return strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/"+lambdatest.Bucket), "/")
}

func (p *proxy) set(f func(p *proxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *proxy) log() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.writes)
}

// client is an S3 client through the proxy that does not retry, so that
// what the proxy fails fails at once.
func client(endpoint string) *s3.Client {
	return s3.NewFromConfig(lambdatest.Config(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.RetryMaxAttempts = 1
	})
}

// objects returns every object under prefix, by key relative to it.
func objects(t *testing.T, c *s3.Client, prefix string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	m := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(lambdatest.Bucket), Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, o := range page.Contents {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(lambdatest.Bucket), Key: o.Key})
			require.NoError(t, err)
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			require.NoError(t, err)
			m[strings.TrimPrefix(aws.ToString(o.Key), prefix)] = b
		}
	}
	return m
}

// keysOf returns the sorted keys of m.
func keysOf[V any](m map[string]V) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

const outPrefix = "videos/talk/"

func target() publish.Target {
	return publish.Target{Bucket: lambdatest.Bucket, Prefix: outPrefix, Master: "master.m3u8"}
}

// publishLadder publishes a fake ladder with c and returns it with the
// generation it went to.
func publishLadder(t *testing.T, c *s3.Client, seed byte, opts publish.Options) (fakeLadder, string) {
	t.Helper()
	pub, err := publish.Begin(c, target(), opts)
	require.NoError(t, err)
	l := newFakeLadder(t, pub.Dir(), seed, 3000)
	l.stage(t, pub)
	_, err = pub.Commit(context.Background(), l.contents)
	require.NoError(t, err)
	return l, pub.Dir()
}

func TestPublish(t *testing.T) {
	s := lambdatest.StartS3(t)
	p := startProxy(t, s.Endpoint)
	c := client(p.URL)
	ctx := context.Background()

	pub, err := publish.Begin(c, target(), publish.Options{CacheControl: "public, max-age=600", StagingPrefix: "staging/"})
	require.NoError(t, err)
	assert.Regexp(t, `^chunkcode-\d{8}T\d{6}Z-[0-9a-f]{8}/$`, pub.Dir())
	l := newFakeLadder(t, pub.Dir(), 1, 3000)
	l.stage(t, pub)
	assert.NotEmpty(t, objects(t, s.Client(), "staging/"), "staged objects")
	assert.Empty(t, objects(t, s.Client(), outPrefix), "anything under the output prefix before Commit")

	staged := len(p.log())
	p.set(func(p *proxy) { p.reads = nil })
	rep, err := pub.Commit(ctx, l.contents)
	require.NoError(t, err)
	assert.Empty(t, rep.Warnings)
	assert.Equal(t, pub.Dir(), rep.Dir)
	assert.Equal(t, len(l.media)+len(l.contents.Playlists)+len(l.contents.Manifests), rep.Objects)
	assert.Zero(t, rep.MultipartCopies)

	t.Run("the output prefix holds the ladder and nothing else", func(t *testing.T) {
		want := l.files(pub.Dir())
		got := objects(t, s.Client(), outPrefix)
		require.Equal(t, keysOf(want), keysOf(got))
		for k := range want {
			assert.True(t, bytes.Equal(want[k], got[k]), "content of %s", k)
		}
	})
	t.Run("the staging objects are deleted", func(t *testing.T) {
		assert.Empty(t, objects(t, s.Client(), "staging/"))
	})
	t.Run("content types and cache control", func(t *testing.T) {
		for k := range l.files(pub.Dir()) {
			head, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(outPrefix + k)})
			require.NoError(t, err, k)
			wantCC := "public, max-age=600"
			if strings.HasSuffix(k, ".m3u8") || strings.HasSuffix(k, ".mpd") {
				wantCC = publish.DefaultPlaylistCacheControl
			}
			assert.Equal(t, publish.ContentType(k), aws.ToString(head.ContentType), "Content-Type of %s", k)
			assert.Equal(t, wantCC, aws.ToString(head.CacheControl), "Cache-Control of %s", k)
		}
	})
	t.Run("segments, then playlists, then the manifests, each written once", func(t *testing.T) {
		writes := p.log()[staged:]
		var order []string // the kind of each write under the output prefix
		seen := map[string]int{}
		for _, w := range writes {
			rel, ok := strings.CutPrefix(w.key, outPrefix)
			if !ok {
				continue
			}
			seen[rel]++
			kind := "media"
			switch {
			case !strings.Contains(rel, "/"):
				kind = "manifest"
			case strings.HasSuffix(rel, ".m3u8"):
				kind = "playlist"
			}
			assert.Equal(t, map[string]string{"media": "copy", "playlist": "put", "manifest": "put"}[kind], w.op, "write of %s", rel)
			if len(order) == 0 || order[len(order)-1] != kind {
				order = append(order, kind)
			}
		}
		assert.Equal(t, []string{"media", "playlist", "manifest"}, order)
		for k, n := range seen {
			assert.Equal(t, 1, n, "writes of %s", k)
		}
		last := writes[len(writes)-1]
		assert.Equal(t, "delete", last.op, "the staging objects are deleted after the manifests are written")
	})
	t.Run("no media passes through this process", func(t *testing.T) {
		p.mu.Lock()
		defer p.mu.Unlock()
		var put, copied int64
		for i, w := range p.writes[staged:] {
			switch w.op {
			case "put":
				put += p.sent[staged+i]
			case "copy":
				copied += p.sent[staged+i]
			}
		}
		var playlists int64
		for _, f := range append(l.contents.Playlists, l.contents.Manifests...) {
			playlists += int64(len(f.Data))
		}
		assert.Equal(t, playlists, put, "bytes sent in PUTs: the playlists and manifests")
		assert.Zero(t, copied, "bytes sent in copies")
		for _, r := range p.reads {
			if r.key == "" {
				continue // a listing
			}
			if ct := publish.ContentType(r.key); ct != publish.TypeHLS && ct != publish.TypeDASH {
				t.Errorf("%s %s: Commit read a media object", r.op, r.key)
			}
		}
	})
	t.Run("a second Commit or Stage is refused", func(t *testing.T) {
		_, err := pub.Commit(ctx, l.contents)
		assert.ErrorIs(t, err, publish.ErrDone)
		assert.ErrorIs(t, pub.Stage(ctx, "x.m4s", bytes.NewReader(nil)), publish.ErrDone)
		assert.NoError(t, pub.Abort(ctx), "Abort after Commit")
		assert.Len(t, objects(t, s.Client(), outPrefix), len(l.files(pub.Dir())), "Abort after Commit deletes nothing")
	})
}

// TestRepublish publishes ladders over older ones: an older generation is
// never written, the one the replaced manifests named is kept for the
// players still reading it, and the ones before it and what failed
// publishes left are deleted, unless a manifest at the prefix names them.
func TestRepublish(t *testing.T) {
	s := lambdatest.StartS3(t)
	p := startProxy(t, s.Endpoint)
	c := client(p.URL)
	ctx := context.Background()
	put := func(key, body string) {
		t.Helper()
		_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(outPrefix + key), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}
	dirsOf := func() []string {
		t.Helper()
		dirs := map[string]bool{}
		for k := range objects(t, s.Client(), outPrefix) {
			if d, _, ok := strings.Cut(k, "/"); ok {
				dirs[d+"/"] = true
			}
		}
		return keysOf(dirs)
	}

	a, dirA := publishLadder(t, c, 1, publish.Options{})
	before := len(p.log())
	b, dirB := publishLadder(t, c, 2, publish.Options{})
	assert.NotEqual(t, dirA, dirB)
	for _, w := range p.log()[before:] {
		if rel, ok := strings.CutPrefix(w.key, outPrefix); ok && strings.HasPrefix(rel, dirA) {
			t.Errorf("the second publish wrote %s %s, in the first's generation", w.op, rel)
		}
	}
	got := objects(t, s.Client(), outPrefix)
	for k, v := range b.files(dirB) {
		assert.True(t, bytes.Equal(v, got[k]), "new %s", k)
	}
	for k, v := range a.files(dirA) {
		if strings.HasPrefix(k, dirA) {
			assert.True(t, bytes.Equal(v, got[k]), "old %s is kept", k)
		}
	}

	// What a failed publish left, another manifest naming the first
	// generation, and files that are no generation.
	const orphan = "chunkcode-20200101T000000Z-deadbeef/"
	put(orphan+"360p/seg0.m4s", "left by a failed publish")
	put("archive.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"+dirA+"360p/index.m3u8\n")
	put("posters/talk.jpg", "not a generation")
	put("chunkcode-notes/readme.txt", "not a generation either")
	pub, err := publish.Begin(c, target(), publish.Options{})
	require.NoError(t, err)
	l := newFakeLadder(t, pub.Dir(), 3, 100)
	l.stage(t, pub)
	rep, err := pub.Commit(ctx, l.contents)
	require.NoError(t, err)
	dirC := pub.Dir()
	assert.Equal(t, []string{orphan}, rep.Pruned)
	assert.Empty(t, rep.Warnings)
	assert.Equal(t, slices.Sorted(slices.Values([]string{dirA, dirB, dirC, "chunkcode-notes/", "posters/"})), dirsOf())

	_, err = s.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(outPrefix + "archive.m3u8")})
	require.NoError(t, err)
	_, dirD := publishLadder(t, c, 4, publish.Options{})
	assert.Equal(t, slices.Sorted(slices.Values([]string{dirC, dirD, "chunkcode-notes/", "posters/"})), dirsOf())
}

func TestMultipartCopy(t *testing.T) {
	s := lambdatest.StartS3(t)
	p := startProxy(t, s.Endpoint)
	c := client(p.URL)
	ctx := context.Background()
	const partSize = publish.MinPartSize
	// A part size below S3's smallest is raised to it.
	pub, err := publish.Begin(c, target(), publish.Options{MultipartAbove: 1 << 20, PartSize: 1 << 10})
	require.NoError(t, err)
	l := newFakeLadder(t, pub.Dir(), 3, 1000)
	const big = "360p/seg0.m4s"
	size := 2*partSize + 12345
	l.media[big] = bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	for i := range l.contents.Media {
		if l.contents.Media[i].Name == big {
			l.contents.Media[i].Size = int64(size)
		}
	}
	l.stage(t, pub)
	rep, err := pub.Commit(ctx, l.contents)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.MultipartCopies)

	var parts []request
	for _, w := range p.log() {
		if w.op == "part-copy" || w.op == "create-multipart" || w.op == "complete-multipart" {
			parts = append(parts, w)
		}
	}
	key := outPrefix + pub.Dir() + big
	assert.Equal(t, []request{{"create-multipart", key}, {"part-copy", key}, {"part-copy", key}, {"part-copy", key}, {"complete-multipart", key}}, parts)
	got := objects(t, s.Client(), outPrefix)
	assert.True(t, bytes.Equal(l.media[big], got[pub.Dir()+big]), "the object copied in parts is the staged one")
	head, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: &key})
	require.NoError(t, err)
	assert.Equal(t, publish.TypeSegment, aws.ToString(head.ContentType))
	assert.Equal(t, publish.DefaultCacheControl, aws.ToString(head.CacheControl))
	assert.Equal(t, int64(size), aws.ToInt64(head.ContentLength))
}

// TestVerifyFails commits ladders that must not be published: nothing is
// copied, nothing is left under the output prefix, and the staging objects
// are deleted.
func TestVerifyFails(t *testing.T) {
	s := lambdatest.StartS3(t)
	p := startProxy(t, s.Endpoint)
	c := client(p.URL)
	tests := []struct {
		name    string
		change  func(l *fakeLadder)
		wantErr string
	}{
		{"a segment the encoder never staged", func(l *fakeLadder) { delete(l.media, "180p/seg2.m4s") }, "180p/seg2.m4s is not staged"},
		{"segments never staged", func(l *fakeLadder) { delete(l.media, "180p/seg1.m4s"); delete(l.media, "180p/seg2.m4s") },
			"180p/seg1.m4s is not staged (s3://" + lambdatest.Bucket + "/" + publish.DefaultStagingPrefix + "publish-%DIR%180p/seg1.m4s) (and 1 more)"},
		{"a segment shorter than its encoder made", func(l *fakeLadder) { l.media["180p/seg1.m4s"] = l.media["180p/seg1.m4s"][:100] },
			"180p/seg1.m4s is staged with 100 bytes, its encoder made 3000"},
		{"a playlist naming a segment not in the ladder", func(l *fakeLadder) {
			l.contents.Media = slices.DeleteFunc(l.contents.Media, func(m publish.Media) bool { return m.Name == "360p/seg1.m4s" })
		}, "360p/index.m3u8 names " + "%DIR%360p/seg1.m4s, which is not in the ladder"},
		{"an MPD naming a segment not in the ladder", func(l *fakeLadder) {
			for i, f := range l.contents.Manifests {
				if f.Name == "manifest.mpd" {
					l.contents.Manifests[i].Data = bytes.ReplaceAll(f.Data, []byte("seg$Number$"), []byte("s$Number%03d$"))
				}
			}
		}, "manifest.mpd names %DIR%360p/s000.m4s, which is not in the ladder"},
		{"no master", func(l *fakeLadder) { l.contents.Manifests = l.contents.Manifests[1:] }, "no manifest master.m3u8"},
		{"a master outside the generation's names", func(l *fakeLadder) {
			l.contents.Manifests[0].Data = bytes.ReplaceAll(l.contents.Manifests[0].Data, []byte("chunkcode-"), []byte("../chunkcode-"))
		}, "outside the output prefix"},
		{"a file type players are not served", func(l *fakeLadder) {
			l.contents.Media = append(l.contents.Media, publish.Media{Name: "360p/seg9.ts", Size: 10})
		}, `"360p/seg9.ts": not a .m3u8, .mpd, .m4s, .mp4 or .vtt file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := publish.Begin(c, target(), publish.Options{})
			require.NoError(t, err)
			l := newFakeLadder(t, pub.Dir(), 4, 3000)
			tt.change(&l)
			l.stage(t, pub)
			before := len(p.log())
			_, err = pub.Commit(context.Background(), l.contents)
			require.ErrorIs(t, err, publish.ErrVerify)
			assert.Contains(t, err.Error(), strings.ReplaceAll(tt.wantErr, "%DIR%", pub.Dir()))
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.True(t, strings.HasPrefix(err.Error(), "publish s3://"+lambdatest.Bucket+"/"+outPrefix+"master.m3u8: manifests unchanged: "), err.Error())
			for _, w := range p.log()[before:] {
				assert.Equal(t, "delete", w.op, "a failed check writes nothing, only deletes the staging objects")
			}
			assert.Empty(t, objects(t, s.Client(), outPrefix), "objects under the output prefix")
			assert.Empty(t, objects(t, s.Client(), publish.DefaultStagingPrefix), "staging objects")
		})
	}
}

func TestAbort(t *testing.T) {
	s := lambdatest.StartS3(t)
	c := client(s.Endpoint)
	ctx := context.Background()
	pub, err := publish.Begin(c, target(), publish.Options{})
	require.NoError(t, err)
	l := newFakeLadder(t, pub.Dir(), 5, 100)
	l.stage(t, pub)
	require.NotEmpty(t, objects(t, s.Client(), publish.DefaultStagingPrefix))
	require.NoError(t, pub.Abort(ctx))
	assert.Empty(t, objects(t, s.Client(), publish.DefaultStagingPrefix), "staging objects")
	assert.Empty(t, objects(t, s.Client(), outPrefix), "objects under the output prefix")
	_, err = pub.Commit(ctx, l.contents)
	assert.ErrorIs(t, err, publish.ErrDone)
	assert.NoError(t, pub.Abort(ctx), "a second Abort")
}

// TestS3DownDuringCopy fails S3 in the middle of the copies into place, with
// an older ladder at the prefix. The publish fails saying so, and the older
// ladder is untouched: its manifests and its generation.
func TestS3DownDuringCopy(t *testing.T) {
	s := lambdatest.StartS3(t)
	p := startProxy(t, s.Endpoint)
	c := client(p.URL)
	old, oldDir := publishLadder(t, c, 1, publish.Options{})
	oldFiles := old.files(oldDir)

	// untouched checks that the prefix holds the old ladder and, beside
	// it, nothing any manifest names.
	untouched := func(t *testing.T, got map[string][]byte, left func(string) bool) {
		t.Helper()
		for k, b := range oldFiles {
			assert.True(t, bytes.Equal(b, got[k]), "old %s is untouched", k)
		}
		for k := range got {
			if _, ok := oldFiles[k]; !ok && !left(k) {
				t.Errorf("%s is under the output prefix", k)
			}
		}
	}

	t.Run("copies fail", func(t *testing.T) {
		p.set(func(p *proxy) { p.copies, p.failCopies = 0, 3 })
		defer p.set(func(p *proxy) { p.failCopies = 0 })
		pub, err := publish.Begin(c, target(), publish.Options{Concurrency: 1})
		require.NoError(t, err)
		l := newFakeLadder(t, pub.Dir(), 2, 3000)
		l.stage(t, pub)
		_, err = pub.Commit(context.Background(), l.contents)
		require.Error(t, err)
		t.Log(err)
		assert.Regexp(t, `^publish s3://\S+/videos/talk/master.m3u8: manifests unchanged: copy \S+ into place: .*ServiceUnavailable`, err.Error())
		assert.NotContains(t, err.Error(), "left", "what was copied is deleted")
		untouched(t, objects(t, s.Client(), outPrefix), func(string) bool { return false })
		assert.Empty(t, objects(t, s.Client(), publish.DefaultStagingPrefix), "staging objects")
	})

	t.Run("S3 stops", func(t *testing.T) {
		// A server of its own, stopped at the third copy: the copies and
		// every delete after them fail.
		s := lambdatest.StartS3(t)
		p := startProxy(t, s.Endpoint)
		c := client(p.URL)
		old, oldDir := publishLadder(t, c, 1, publish.Options{})
		oldFiles := old.files(oldDir)
		p.set(func(p *proxy) {
			p.copies = 0
			p.onCopy = func(n int) {
				if n == 3 {
					s.Stop(t)
				}
			}
		})
		pub, err := publish.Begin(c, target(), publish.Options{Concurrency: 1})
		require.NoError(t, err)
		l := newFakeLadder(t, pub.Dir(), 2, 3000)
		l.stage(t, pub)
		_, err = pub.Commit(context.Background(), l.contents)
		require.Error(t, err)
		t.Log(err)
		msg := err.Error()
		assert.Regexp(t, `^publish s3://\S+/videos/talk/master.m3u8: manifests unchanged: copy \S+ into place: `, msg)
		assert.Contains(t, msg, "; staging objects left under s3://"+lambdatest.Bucket+"/"+publish.DefaultStagingPrefix+"publish-")
		assert.Contains(t, msg, "; objects no manifest names left under s3://"+lambdatest.Bucket+"/"+outPrefix+pub.Dir())

		// The server is down: read what it holds from its directory.
		got := map[string][]byte{}
		for k, b := range s.Files(t) {
			if rel, ok := strings.CutPrefix(k, outPrefix); ok {
				got[rel] = b
			}
		}
		for k, b := range oldFiles {
			assert.True(t, bytes.Equal(b, got[k]), "old %s is untouched", k)
		}
		copied := 0
		for k := range got {
			if _, ok := oldFiles[k]; !ok {
				assert.True(t, strings.HasPrefix(k, pub.Dir()), "%s is outside the new generation", k)
				copied++
			}
		}
		assert.Equal(t, 2, copied, "copies made before S3 stopped, which no manifest names")
	})
}

// TestInterrupted cancels a publish in the middle of its copies, as Ctrl-C
// does: the error is the cancellation, and the prefix keeps the older
// ladder and nothing else, since the deletes run on.
func TestInterrupted(t *testing.T) {
	s := lambdatest.StartS3(t)
	p := startProxy(t, s.Endpoint)
	c := client(p.URL)
	old, oldDir := publishLadder(t, c, 1, publish.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.set(func(p *proxy) {
		p.copies = 0
		p.onCopy = func(n int) {
			if n == 3 {
				cancel()
			}
		}
	})
	pub, err := publish.Begin(c, target(), publish.Options{Concurrency: 1})
	require.NoError(t, err)
	l := newFakeLadder(t, pub.Dir(), 2, 3000)
	l.stage(t, pub)
	_, err = pub.Commit(ctx, l.contents)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, err.Error(), "left")
	got := objects(t, s.Client(), outPrefix)
	assert.Equal(t, keysOf(old.files(oldDir)), keysOf(got), "the older ladder and nothing else")
	assert.Empty(t, objects(t, s.Client(), publish.DefaultStagingPrefix), "staging objects")
}

// TestGet reads a published ladder as a player would: the master playlist
// through a presigned URL, and the whole ladder, from the master down,
// with unsigned GETs once the bucket's policy lets anyone read the prefix.
func TestGet(t *testing.T) {
	s := lambdatest.StartS3(t)
	c := s.Client()
	ctx := context.Background()
	l, dir := publishLadder(t, c, 6, publish.Options{})
	files := l.files(dir)

	t.Run("presigned", func(t *testing.T) {
		req, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(outPrefix + "master.m3u8")})
		require.NoError(t, err)
		body, header := get(t, req.URL)
		assert.Equal(t, files["master.m3u8"], body)
		assert.Equal(t, publish.TypeHLS, header.Get("Content-Type"))
		assert.Equal(t, publish.DefaultPlaylistCacheControl, header.Get("Cache-Control"))
	})

	t.Run("public", func(t *testing.T) {
		policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/%s*"]}]}`, s.Bucket, outPrefix)
		_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(s.Bucket), Policy: &policy})
		require.NoError(t, err)
		base := s.Endpoint + "/" + s.Bucket + "/" + outPrefix
		master, _ := get(t, base+"master.m3u8")
		m, err := manifest.ParseMaster(master)
		require.NoError(t, err)
		fetched := map[string]bool{"master.m3u8": true}
		var playlists []string
		for _, v := range m.Variants {
			playlists = append(playlists, v.URI)
		}
		for _, a := range m.Audio {
			playlists = append(playlists, a.URI)
		}
		for _, uri := range playlists {
			text, header := get(t, base+uri)
			assert.Equal(t, publish.TypeHLS, header.Get("Content-Type"), uri)
			fetched[uri] = true
			pl, err := manifest.ParsePlaylist(text)
			require.NoError(t, err)
			d := uri[:strings.LastIndex(uri, "/")+1]
			names := []string{pl.Init}
			for _, seg := range pl.Segments {
				names = append(names, seg.URI)
			}
			for _, n := range names {
				body, header := get(t, base+d+n)
				assert.True(t, bytes.Equal(files[d+n], body), "%s", d+n)
				assert.Equal(t, publish.ContentType(n), header.Get("Content-Type"), d+n)
				fetched[d+n] = true
			}
		}
		for k := range files {
			if !fetched[k] && !strings.HasSuffix(k, ".mpd") && !strings.HasSuffix(k, ".vtt") {
				t.Errorf("%s is published but the HLS ladder does not name it", k)
			}
		}
	})
}

// TestCrossOrigin checks what a browser playing the ladder from a page on
// another origin needs of the bucket: with a CORS rule, a GET of the
// master playlist carrying an Origin answers with
// Access-Control-Allow-Origin, and so does the preflight.
func TestCrossOrigin(t *testing.T) {
	s := lambdatest.StartS3(t)
	c := s.Client()
	ctx := context.Background()
	publishLadder(t, c, 7, publish.Options{})
	_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(s.Bucket), CORSConfiguration: &s3types.CORSConfiguration{
		CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}}},
	}})
	require.NoError(t, err)
	presigned, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(outPrefix + "master.m3u8")})
	require.NoError(t, err)
	const origin = "http://127.0.0.1:1"
	for _, method := range []string{http.MethodGet, http.MethodOptions} {
		req, err := http.NewRequest(method, presigned.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		if method == http.MethodOptions {
			req.URL.RawQuery = ""
			req.Header.Set("Access-Control-Request-Method", http.MethodGet)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, method)
		assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"), method)
	}
}

// get fetches u with a plain GET and fails the test unless it answers 200.
func get(t *testing.T, u string) ([]byte, http.Header) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", u, body)
	return body, resp.Header
}
