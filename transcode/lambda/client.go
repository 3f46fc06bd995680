package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/chunkcode/chunkcode/transcode/ffmpeg"
	"github.com/chunkcode/chunkcode/transcode/observe"
)

// Throttling backoff: the first wait and the cap; waits have full jitter.
const (
	throttleBase     = 200 * time.Millisecond
	throttleMax      = 20 * time.Second
	throttleAttempts = 12
)

type endpoint struct {
	url    string
	client *lambdasvc.Client
}

// fetchConfig reads the function's memory and architecture for pricing,
// once, when the options do not give them. Emulators have no configuration.
func (b *Backend) fetchConfig(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fetched || len(b.opts.Endpoints) > 0 || (b.memory > 0 && b.arch != "") {
		return
	}
	b.fetched = true
	out, err := b.regional.client.GetFunctionConfiguration(ctx, &lambdasvc.GetFunctionConfigurationInput{FunctionName: &b.opts.Function})
	if err != nil {
		return // pricing falls back to the log tail
	}
	if b.memory == 0 && out.MemorySize != nil {
		b.memory = int(*out.MemorySize)
	}
	if b.arch == "" && len(out.Architectures) > 0 {
		b.arch = Arch(out.Architectures[0])
	}
}

// pollProgress reads the frame count the function writes to key every
// ProgressInterval and reports it, until the returned stop is called.
func (b *Backend) pollProgress(ctx context.Context, key string, progress ffmpeg.Progress) (stop func()) {
	last := 0
	return everyInterval(ctx, func(ctx context.Context) {
		if n, err := b.store.readInt(ctx, key); err == nil && n > last {
			last = n
			progress(n)
		}
	})
}

// invoke runs one invocation of req, on a free endpoint of
// Options.Endpoints or on the regional endpoint at once, backing off while
// Lambda throttles. When the run is traced (observe.FromContext), the
// invocation has a span, whose trace context req carries to the function,
// with the request ID and what the REPORT line says.
func (b *Backend) invoke(ctx context.Context, req Request) (resp Response, rep report, err error) {
	ctx, span := observe.FromContext(ctx).Invocation(ctx, observe.Invocation{Function: b.opts.Function, Region: b.region})
	defer func() {
		span.SetReport(observe.Report{RequestID: rep.requestID, Billed: rep.billed, MemoryMB: rep.memoryMB, Init: rep.init})
		span.End(err)
	}()
	req.TraceContext = observe.Inject(ctx)
	payload, err := json.Marshal(req)
	if err != nil {
		return Response{}, report{}, err
	}
	ep := b.regional
	if b.lambdas != nil {
		select {
		case ep = <-b.lambdas:
		case <-ctx.Done():
			return Response{}, report{}, ctx.Err()
		}
		defer func() { b.lambdas <- ep }()
	}
	where := fmt.Sprintf("function %q", b.opts.Function)
	if ep.url != "" {
		where += " at " + ep.url
	}

	var out *lambdasvc.InvokeOutput
	for attempt := 0; ; attempt++ {
		b.mu.Lock()
		b.stats.Invocations[ep.url]++
		b.mu.Unlock()
		out, err = ep.client.Invoke(ctx, &lambdasvc.InvokeInput{
			FunctionName:   &b.opts.Function,
			InvocationType: lambdatypes.InvocationTypeRequestResponse,
			LogType:        lambdatypes.LogTypeTail,
			Payload:        payload,
		})
		if err == nil || !throttled(err) || attempt+1 >= throttleAttempts {
			break
		}
		b.mu.Lock()
		b.stats.Throttles++
		b.mu.Unlock()
		wait := time.Duration(rand.Int64N(int64(min(throttleMax, throttleBase<<attempt)) + 1))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return Response{}, report{}, ctx.Err()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, report{}, ctx.Err()
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			rep.requestID = re.ServiceRequestID()
		}
		if errors.As(err, &re) && ep.url != "" {
			switch re.HTTPStatusCode() {
			case http.StatusBadGateway:
				// The emulator's answer when the function process dies.
				err = &FunctionError{Kind: KindCrash, Message: "the function exited without answering (" + err.Error() + ")"}
			case http.StatusNotFound:
				err = fmt.Errorf("%w (the emulator serves only the function %q)", err, EmulatorFunction)
			}
		}
		return Response{}, rep, fmt.Errorf("invoke %s: %w", where, err)
	}
	rep = parseLogTail(aws.ToString(out.LogResult))
	// Lambda's header; the emulator sets none, and the function's answer
	// says it then.
	rep.requestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if fe := functionError(out); fe != nil {
		if rep.requestID != "" {
			fe.Invocation.RequestID = rep.requestID
		}
		rep.requestID = fe.Invocation.RequestID
		if ep.url == "" {
			// On AWS, where CloudWatch Logs has them.
			fe.Invocation.LogGroup = LogGroup(b.opts.Function)
		}
		return Response{}, rep, fmt.Errorf("invoke %s: %w", where, fe)
	}
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		return Response{}, rep, fmt.Errorf("invoke %s: decode response %.200q: %w", where, out.Payload, err)
	}
	if rep.requestID == "" {
		rep.requestID = resp.RequestID
	}
	return resp, rep, nil
}

// throttled reports whether err is Lambda saying too many requests.
func throttled(err error) bool {
	var tm *lambdatypes.TooManyRequestsException
	if errors.As(err, &tm) {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 429
}

// functionError finds a failed invocation in out: from the FunctionError
// header that Lambda sets, from an error payload (the emulator sets no
// header) or from the emulator's "Task timed out" answer.
func functionError(out *lambdasvc.InvokeOutput) *FunctionError {
	body := bytes.TrimSpace(out.Payload)
	if bytes.HasPrefix(body, []byte("Task timed out")) {
		return &FunctionError{Kind: KindTimeout, Message: string(body)}
	}
	var p struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	isErr := json.Unmarshal(body, &p) == nil && (p.Type != "" || p.Message != "")
	if out.FunctionError == nil && !isErr {
		return nil
	}
	fe := decodeFunctionError(p.Type, p.Message)
	switch {
	case strings.Contains(p.Message, "Task timed out"):
		fe.Kind = KindTimeout
	case fe.Kind == "":
		fe.Kind = KindInternal
		if fe.Message == "" {
			fe.Message = fmt.Sprintf("%s: %.500s", aws.ToString(out.FunctionError), body)
		}
	}
	return fe
}
