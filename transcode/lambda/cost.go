package lambda

import (
	"encoding/base64"
	"math"
	"regexp"
	"strconv"
	"time"
)

// Published Lambda prices (us-east-1, first pricing tier), in USD.
const (
	PriceGBSecondX86   = 0.0000166667
	PriceGBSecondArm64 = 0.0000133334
	PriceRequest       = 0.20 / 1e6
)

// report is what the REPORT line at the end of an invocation's log says.
// With the invocation's request ID, it is what chunkcode knows of an
// invocation once it has answered.
type report struct {
	billed    time.Duration // 0 when absent
	memoryMB  int
	init      time.Duration // the Init Duration of a cold start; 0 when warm or absent
	requestID string
}

var (
	billedRE = regexp.MustCompile(`Billed Duration: (\d+) ms`)
	memoryRE = regexp.MustCompile(`Memory Size: (\d+) MB`)
	initRE   = regexp.MustCompile(`Init Duration: (\d+(?:\.\d+)?) ms`)
)

// parseLogTail reads the REPORT line from the base64 log tail that Invoke
// returns with LogType Tail.
func parseLogTail(b64 string) report {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return report{}
	}
	var r report
	if m := billedRE.FindSubmatch(raw); m != nil {
		ms, _ := strconv.ParseInt(string(m[1]), 10, 64)
		r.billed = time.Duration(ms) * time.Millisecond
	}
	if m := memoryRE.FindSubmatch(raw); m != nil {
		r.memoryMB, _ = strconv.Atoi(string(m[1]))
	}
	if m := initRE.FindSubmatch(raw); m != nil {
		ms, _ := strconv.ParseFloat(string(m[1]), 64)
		r.init = time.Duration(ms * float64(time.Millisecond))
	}
	return r
}

// BilledDuration rounds a measured duration up to the millisecond, as
// Lambda bills.
func BilledDuration(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(float64(d)/float64(time.Millisecond))) * time.Millisecond
}

// Cost returns the GB-seconds and the estimated USD of one invocation
// billed for billed (see BilledDuration) with memoryMB of memory on arch:
// the GB-seconds at arch's price (arm64's when arch is unknown) plus the
// price of one request.
func Cost(billed time.Duration, memoryMB int, arch Arch) (gbSeconds, usd float64) {
	gbSeconds = billed.Seconds() * float64(memoryMB) / 1024
	price := PriceGBSecondArm64
	if arch == X86_64 {
		price = PriceGBSecondX86
	}
	return gbSeconds, gbSeconds*price + PriceRequest
}
