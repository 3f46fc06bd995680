package lambda_test

import (
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/ladder"
	"github.com/chunkcode/chunkcode/transcode/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRungMode(t *testing.T) {
	for in, want := range map[string]lambda.RungMode{"": lambda.RungsPerChunk, "chunk": lambda.RungsPerChunk, "split": lambda.RungsSplit} {
		got, err := lambda.ParseRungMode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"Split", "per-rung", "rung"} {
		_, err := lambda.ParseRungMode(in)
		assert.ErrorContains(t, err, `is not chunk (one invocation encodes every rung of a chunk) or split`, in)
	}
}

func TestCostOfLadder(t *testing.T) {
	// invocation is one invocation billed for seconds at 1024 MB on
	// arm64, priced as the backend prices it.
	invocation := func(rung int, seconds float64, rungSeconds ...float64) lambda.RungInvocation {
		billed := time.Duration(seconds * float64(time.Second))
		gbs, usd := lambda.Cost(billed, 1024, lambda.ARM64)
		return lambda.RungInvocation{Rung: rung, RungSeconds: rungSeconds,
			Stats: transcode.RemoteStats{BilledSeconds: billed.Seconds(), GBSeconds: gbs, USD: usd}}
	}
	const (
		p   = lambda.PriceGBSecondArm64
		req = lambda.PriceRequest
	)
	two := []ladder.Rung{{Height: 720, Width: 1280}, {Height: 360, Width: 640}}
	tests := []struct {
		name    string
		rungs   []ladder.Rung
		invs    []lambda.RungInvocation
		want    []lambda.RungCost // per rung; the total is their sum
		total   int               // invocations
		wantErr string
	}{
		{
			name:  "split: each invocation is its rung's",
			rungs: two,
			invs:  []lambda.RungInvocation{invocation(0, 2), invocation(1, 1), invocation(0, 2)},
			want: []lambda.RungCost{
				{Height: 720, Invocations: 2, BilledSeconds: 4, GBSeconds: 4, USD: 4*p + 2*req},
				{Height: 360, Invocations: 1, BilledSeconds: 1, GBSeconds: 1, USD: p + req},
			},
			total: 3,
		},
		{
			name:  "per chunk: shared by the time spent on each rung",
			rungs: two,
			invs:  []lambda.RungInvocation{invocation(lambda.AllRungs, 4, 3, 1), invocation(lambda.AllRungs, 2, 1, 1)},
			want: []lambda.RungCost{
				{Height: 720, Invocations: 2, BilledSeconds: 4, GBSeconds: 4, USD: 4*p + 1.25*req},
				{Height: 360, Invocations: 2, BilledSeconds: 2, GBSeconds: 2, USD: 2*p + 0.75*req},
			},
			total: 2,
		},
		{
			name:  "per chunk without rung times: shared by pixels",
			rungs: two,
			invs:  []lambda.RungInvocation{invocation(lambda.AllRungs, 5)},
			want: []lambda.RungCost{
				{Height: 720, Invocations: 1, BilledSeconds: 4, GBSeconds: 4, USD: 4*p + 0.8*req},
				{Height: 360, Invocations: 1, BilledSeconds: 1, GBSeconds: 1, USD: p + 0.2*req},
			},
			total: 1,
		},
		{
			name:  "rungs without widths are shared as squares",
			rungs: []ladder.Rung{{Height: 720}, {Height: 360}},
			invs:  []lambda.RungInvocation{invocation(lambda.AllRungs, 5, 0, 0)},
			want: []lambda.RungCost{
				{Height: 720, Invocations: 1, BilledSeconds: 4, GBSeconds: 4, USD: 4*p + 0.8*req},
				{Height: 360, Invocations: 1, BilledSeconds: 1, GBSeconds: 1, USD: p + 0.2*req},
			},
			total: 1,
		},
		{
			name:  "no invocation",
			rungs: two,
			want:  []lambda.RungCost{{Height: 720}, {Height: 360}},
		},
		{name: "a rung past the ladder", rungs: two, invs: []lambda.RungInvocation{invocation(2, 1)}, wantErr: "invocation 0: rung 2 of a ladder of 2"},
		{name: "rung times for another ladder", rungs: two, invs: []lambda.RungInvocation{invocation(0, 1), invocation(lambda.AllRungs, 1, 1, 1, 1)},
			wantErr: "invocation 1: 3 rung times for 2 rungs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambda.CostOfLadder(tt.rungs, tt.invs)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, got.Rungs, len(tt.want))
			var sum lambda.RungCost
			for i, w := range tt.want {
				g := got.Rungs[i]
				assert.Equal(t, w.Height, g.Height, "rung %d", i)
				assert.Equal(t, w.Invocations, g.Invocations, "invocations of rung %d", i)
				assert.InDelta(t, w.BilledSeconds, g.BilledSeconds, 1e-9, "billed seconds of rung %d", i)
				assert.InDelta(t, w.GBSeconds, g.GBSeconds, 1e-9, "GB-seconds of rung %d", i)
				assert.InDelta(t, w.USD, g.USD, 1e-12, "USD of rung %d", i)
				sum.BilledSeconds += g.BilledSeconds
				sum.GBSeconds += g.GBSeconds
				sum.USD += g.USD
			}
			assert.Equal(t, tt.total, got.Total.Invocations)
			assert.Zero(t, got.Total.Height)
			assert.InDelta(t, sum.BilledSeconds, got.Total.BilledSeconds, 1e-9, "the rungs add up to the total")
			assert.InDelta(t, sum.GBSeconds, got.Total.GBSeconds, 1e-9)
			assert.InDelta(t, sum.USD, got.Total.USD, 1e-12)
		})
	}
}
