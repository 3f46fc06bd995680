package main

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/chunkcode/chunkcode/transcode/publish"
	"github.com/spf13/pflag"
)

// ladderS3Options are the flags of a ladder encoded on Lambda and
// published to an s3:// OUTPUT.
type ladderS3Options struct {
	cacheControl string
	lambdaRungs  string
	// set are the flags given, which need an s3:// OUTPUT (--cache-control)
	// or --backend lambda (--lambda-rungs).
	set []string
}

func (o *ladderS3Options) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.cacheControl, "cache-control", "", fmt.Sprintf("s3:// ladder: Cache-Control of segments (default %q; playlists get %q)",
		publish.DefaultCacheControl, publish.DefaultPlaylistCacheControl))
	f.StringVar(&o.lambdaRungs, "lambda-rungs", "", "lambda: chunk (one invocation encodes every rung of a chunk) or split (one invocation per rung per chunk) (default chunk)")
}

// changed records which of the flags fs was given.
func (o *ladderS3Options) changed(fs *pflag.FlagSet) {
	var s3Flags pflag.FlagSet
	(&ladderS3Options{}).AddFlags(&s3Flags)
	o.set = nil
	s3Flags.VisitAll(func(f *pflag.Flag) {
		if fs.Changed(f.Name) {
			o.set = append(o.set, f.Name)
		}
	})
}

// given reports whether the flag name was given, as changed recorded.
func (o *ladderS3Options) given(name string) bool { return slices.Contains(o.set, name) }

// rungMode is --lambda-rungs, once s3LadderOutput has checked it.
func (o *ladderS3Options) rungMode() lambda.RungMode {
	m, _ := lambda.ParseRungMode(o.lambdaRungs)
	return m
}

// s3Ladder is a ladder OUTPUT in S3, checked before any work.
type s3Ladder struct {
	target  publish.Target
	options publish.Options
	rungs   lambda.RungMode
}

// isLadderOutput reports whether OUTPUT names a ladder's manifest, HLS
// (.m3u8) or DASH (.mpd).
func isLadderOutput(output string) bool {
	switch publish.ContentType(path.Base(output)) {
	case publish.TypeHLS, publish.TypeDASH:
		return true
	}
	return false
}

// s3LadderOutput checks an s3:// ladder OUTPUT, and the flags that go with
// it, on backend: it returns nil for any other OUTPUT, which may not have
// --cache-control, and a usage error naming OUTPUT or the flag, in one
// line, for what can never work.
func (o *ladderS3Options) s3LadderOutput(output string, backend transcode.BackendName) (*s3Ladder, error) {
	if o.given("lambda-rungs") && backend != transcode.LambdaBackend {
		return nil, usagef("--lambda-rungs needs --backend lambda")
	}
	rungs, err := lambda.ParseRungMode(o.lambdaRungs)
	if err != nil {
		return nil, usagef("--lambda-rungs: %v", err)
	}
	if !strings.HasPrefix(output, "s3://") || !isLadderOutput(output) {
		if o.given("cache-control") {
			return nil, usagef("--cache-control works with an s3:// ladder OUTPUT (.m3u8 or .mpd) only")
		}
		return nil, nil
	}
	t, err := publish.ParseTarget(output)
	if err != nil {
		return nil, usagef("%s: %v", output, err)
	}
	if backend != transcode.LambdaBackend {
		return nil, usagef("%s: an s3:// OUTPUT needs --backend lambda", output)
	}
	if o.given("cache-control") {
		if err := checkCacheControl(o.cacheControl); err != nil {
			return nil, usagef("--cache-control: %v", err)
		}
	}
	return &s3Ladder{target: t, options: publish.Options{CacheControl: o.cacheControl}, rungs: rungs}, nil
}

// checkCacheControl accepts a Cache-Control header value: comma-separated
// directives, each a token or token=value, where a value is a token or a
// quoted string (RFC 9111, 5.2).
func checkCacheControl(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("empty; give directives such as %q", publish.DefaultCacheControl)
	}
	for d := range strings.SplitSeq(v, ",") {
		d = strings.TrimSpace(d)
		name, value, hasValue := strings.Cut(d, "=")
		quoted := len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' && printable(value)
		if !isToken(name) || hasValue && !isToken(value) && !quoted {
			return fmt.Errorf("%q is not a directive (NAME or NAME=VALUE, such as max-age=600)", d)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110, 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, c := range s {
		if c < ' ' || c > 0x7e {
			return false
		}
	}
	return true
}

// ladderSummary is the --json summary of a ladder encoded on Lambda: the
// run's summary and what the functions cost, per rung and in total, the
// audio of an s3:// source counted in the total.
type ladderSummary struct {
	*transcode.Summary
	Cost *lambda.LadderCost `json:"cost"`
}

// ladderCost is the Lambda use of the ladder sum describes, from what b
// counted.
func ladderCost(sum *transcode.Summary, b *lambda.Backend) (*lambda.LadderCost, error) {
	rungs := make([]ladder.Rung, len(sum.Rungs))
	for i, r := range sum.Rungs {
		rungs[i] = ladder.Rung{Height: r.Height, Width: r.Width}
	}
	st := b.Stats()
	c, err := lambda.CostOfLadder(rungs, st.Ladder)
	if err != nil {
		return nil, err
	}
	if st.Audio.BilledSeconds > 0 {
		c.Total.Invocations++
		c.Total.BilledSeconds += st.Audio.BilledSeconds
		c.Total.GBSeconds += st.Audio.GBSeconds
		c.Total.USD += st.Audio.USD
	}
	return &c, nil
}
