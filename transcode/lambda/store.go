package lambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Multipart upload sizes: S3 takes at most 10,000 parts of at least 5 MiB.
const (
	minPartSize = 16 << 20
	maxParts    = 10_000
)

// store stages files in one bucket. Uploads and downloads stream between
// disk and the network; no object is held in memory.
type store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	// concurrency is how many parts of one upload are sent at once.
	concurrency int
	// partSize is the smallest part of a multipart upload; 0 is
	// minPartSize. Files up to one part go in one PUT.
	partSize int64
	expiry   time.Duration
}

// objectURL names an object for messages.
func (s *store) objectURL(key string) string { return "s3://" + s.bucket + "/" + key }

// upload copies the local file at path to key, in parallel parts when it is
// larger than one part. It returns the bytes sent.
func (s *store) upload(ctx context.Context, path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	part := s.partSize
	if part <= 0 {
		part = minPartSize
	}
	part = max(part, (size+maxParts-1)/maxParts)
	if size <= part {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: &key,
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size),
		})
		return size, err
	}

	mp, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	n := int((size + part - 1) / part)
	parts := make([]s3types.CompletedPart, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			off := int64(i) * part
			length := min(part, size-off)
			num := int32(i + 1)
			out, err := s.client.UploadPart(gctx, &s3.UploadPartInput{
				Bucket: &s.bucket, Key: &key, UploadId: mp.UploadId, PartNumber: &num,
				Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length),
			})
			if err != nil {
				return fmt.Errorf("upload part %d: %w", num, err)
			}
			parts[i] = s3types.CompletedPart{ETag: out.ETag, PartNumber: &num}
			return nil
		})
	}
	err = g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &key, UploadId: mp.UploadId,
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err != nil {
		s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
			Bucket: &s.bucket, Key: &key, UploadId: mp.UploadId,
		})
		return 0, err
	}
	return size, nil
}

// download copies key to the local file at path, creating or truncating
// it. It returns the bytes written.
func (s *store) download(ctx context.Context, key, path string) (int64, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, out.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// readInt reads a small object holding a decimal number.
func (s *store) readInt(ctx context.Context, key string) (int, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 32))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// getURL presigns a GET of key, in bucket (s.bucket when "").
func (s *store) getURL(ctx context.Context, bucket, key string) (string, error) {
	if bucket == "" {
		bucket = s.bucket
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(s.expiry))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// putURL presigns a PUT of key.
func (s *store) putURL(ctx context.Context, key string) (string, error) {
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(s.expiry))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// list returns the keys under prefix.
func (s *store) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// deletePrefix deletes every object under prefix.
func (s *store) deletePrefix(ctx context.Context, prefix string) error {
	keys, err := s.list(ctx, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 1000)]
		keys = keys[len(batch):]
		ids := make([]s3types.ObjectIdentifier, len(batch))
		for i := range batch {
			ids[i] = s3types.ObjectIdentifier{Key: &batch[i]}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &s.bucket, Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range out.Errors {
			errs = append(errs, fmt.Errorf("%s: %s", s.objectURL(aws.ToString(e.Key)), aws.ToString(e.Message)))
		}
	}
	return errors.Join(errs...)
}

// ParseS3URL splits s3://bucket/key. ok is false for anything else.
func ParseS3URL(s string) (bucket, key string, ok bool) {
	if !strings.HasPrefix(s, "s3://") {
		return "", "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || len(u.Path) < 2 {
		return "", "", false
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), true
}
