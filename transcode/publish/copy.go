package publish

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// copy copies the staged m into the generation with S3 server-side copy,
// setting its content type and the segments' Cache-Control: one
// CopyObject up to Options.MultipartAbove bytes, a multipart upload of
// UploadPartCopy parts above. It returns the number of parts, 0 for one
// CopyObject.
func (l *Ladder) copy(ctx context.Context, m Media) (int, error) {
	src := copySource(l.opts.StagingBucket, l.StagingKey(m.Name))
	key := l.target.Prefix + l.dir + m.Name
	ct, cc := ContentType(m.Name), l.opts.CacheControl
	if m.Size <= l.opts.MultipartAbove {
		_, err := l.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: &l.target.Bucket, Key: &key, CopySource: &src,
			MetadataDirective: s3types.MetadataDirectiveReplace,
			ContentType:       &ct, CacheControl: &cc,
		})
		if err != nil {
			return 0, fmt.Errorf("copy %s into place: %w", m.Name, err)
		}
		return 0, nil
	}

	part := max(l.opts.PartSize, (m.Size+maxParts-1)/maxParts)
	n := int((m.Size + part - 1) / part)
	mp, err := l.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &l.target.Bucket, Key: &key, ContentType: &ct, CacheControl: &cc,
	})
	if err != nil {
		return 0, fmt.Errorf("copy %s into place: start multipart copy: %w", m.Name, err)
	}
	parts := make([]s3types.CompletedPart, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.opts.Concurrency)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			off := int64(i) * part
			end := min(off+part, m.Size) - 1
			num := int32(i + 1)
			out, err := l.client.UploadPartCopy(gctx, &s3.UploadPartCopyInput{
				Bucket: &l.target.Bucket, Key: &key, UploadId: mp.UploadId, PartNumber: &num,
				CopySource: &src, CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
			})
			if err != nil {
				return fmt.Errorf("copy part %d of %d: %w", num, n, err)
			}
			if out.CopyPartResult == nil {
				return fmt.Errorf("copy part %d of %d: no ETag in the answer", num, n)
			}
			parts[i] = s3types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: &num}
			return nil
		})
	}
	err = waitCtx(ctx, g)
	if err == nil {
		_, err = l.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &l.target.Bucket, Key: &key, UploadId: mp.UploadId,
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		l.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: &l.target.Bucket, Key: &key, UploadId: mp.UploadId,
		})
		return 0, fmt.Errorf("copy %s into place: %w", m.Name, err)
	}
	return n, nil
}

// copySource is the x-amz-copy-source of key in bucket: bucket/key, with
// each element of the key URL-escaped.
func copySource(bucket, key string) string {
	els := strings.Split(key, "/")
	for i, e := range els {
		els[i] = url.PathEscape(e)
	}
	return bucket + "/" + strings.Join(els, "/")
}
