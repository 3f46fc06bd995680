package lambda

import (
	"context"
	"fmt"

	"github.com/chunkcode/chunkcode/transcode/publish"
)

// Publish begins publishing a ladder to target with the backend's S3
// client (see package publish). Unless opts name others, the staging
// objects go to the backend's bucket under its prefix, where its lifecycle
// rule catches what a killed run leaves.
func (b *Backend) Publish(target publish.Target, opts publish.Options) (*publish.Ladder, error) {
	if opts.StagingBucket == "" {
		opts.StagingBucket = b.opts.Bucket
	}
	if opts.StagingPrefix == "" {
		opts.StagingPrefix = b.opts.Prefix
	}
	return publish.Begin(b.store.client, target, opts)
}

// StagingPutURL presigns a PUT of the file name of the ladder l, relative
// to its generation, to its staging key: what a function uploads a segment
// it encoded to.
func (b *Backend) StagingPutURL(ctx context.Context, l *publish.Ladder, name string) (string, error) {
	st := *b.store
	st.bucket = l.StagingBucket()
	u, err := st.putURL(ctx, l.StagingKey(name))
	if err != nil {
		return "", fmt.Errorf("presign staging PUT of %s: %w", name, err)
	}
	return u, nil
}
