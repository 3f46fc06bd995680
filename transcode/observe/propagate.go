package observe

import (
	"context"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// EnvXRay is the variable the Lambda runtime sets to the invocation's X-Ray
// trace header.
const EnvXRay = "_X_AMZN_TRACE_ID"

var w3c = propagation.TraceContext{}

// Inject returns the W3C trace context of ctx's span (traceparent and, when
// set, tracestate) for a job to carry; nil when ctx has no span, as with a
// nil Recorder.
func Inject(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	w3c.Inject(ctx, c)
	return c
}

// Extract returns ctx with the remote span context carrier holds, which
// spans started from it are children of; ctx itself when carrier holds
// none.
func Extract(ctx context.Context, carrier map[string]string) context.Context {
	if len(carrier) == 0 {
		return ctx
	}
	return w3c.Extract(ctx, propagation.MapCarrier(carrier))
}

// XRay parses an X-Ray trace header
// ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
// into the span context it names, which is remote. ok is false when the
// header has no valid Root and Parent.
func XRay(header string) (sc trace.SpanContext, ok bool) {
	var cfg trace.SpanContextConfig
	for _, part := range strings.Split(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			// 1-{8 hex digits of epoch}-{24 hex digits}
			f := strings.Split(v, "-")
			if len(f) != 3 || f[0] != "1" || len(f[1]) != 8 || len(f[2]) != 24 {
				return trace.SpanContext{}, false
			}
			id, err := trace.TraceIDFromHex(f[1] + f[2])
			if err != nil {
				return trace.SpanContext{}, false
			}
			cfg.TraceID = id
		case "Parent":
			id, err := trace.SpanIDFromHex(v)
			if err != nil {
				return trace.SpanContext{}, false
			}
			cfg.SpanID = id
		case "Sampled":
			if v == "1" {
				cfg.TraceFlags = trace.FlagsSampled
			}
		}
	}
	cfg.Remote = true
	sc = trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// Function describes one invocation as the function sees it.
type Function struct {
	Name      string // AWS_LAMBDA_FUNCTION_NAME
	Version   string // AWS_LAMBDA_FUNCTION_VERSION
	Region    string // AWS_REGION
	ARN       string // lambdacontext's InvokedFunctionArn
	RequestID string // lambdacontext's AwsRequestID
	MemoryMB  int    // AWS_LAMBDA_FUNCTION_MEMORY_SIZE
	ColdStart bool   // the first invocation of this execution environment
	// XRay is the X-Ray trace header, "" for none; FunctionFromEnv reads
	// it from _X_AMZN_TRACE_ID.
	XRay string
}

// FunctionFromEnv fills in what the Lambda runtime's environment says of
// the function; the caller adds ARN, RequestID and ColdStart.
func FunctionFromEnv() Function {
	f := Function{
		Name: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Version: os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"),
		Region: os.Getenv("AWS_REGION"), XRay: os.Getenv(EnvXRay),
	}
	for _, c := range os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
		if c < '0' || c > '9' {
			f.MemoryMB = 0
			break
		}
		f.MemoryMB = f.MemoryMB*10 + int(c-'0')
	}
	return f
}

// Function starts the server span of an invocation in the function: a
// child of the W3C trace context carrier holds (the client's invocation
// span), so that the function's spans join the run's trace. The X-Ray
// trace header, when valid, becomes a link, never the parent: Lambda sets
// it even when X-Ray tracing is off (Sampled=0), and as a parent it would
// move the function's spans out of the run's trace. Without a carrier the
// span is a root.
func (r *Recorder) Function(ctx context.Context, carrier map[string]string, f Function) (context.Context, *Span) {
	if r == nil {
		return ctx, nil
	}
	ctx = Extract(ctx, carrier)
	attrs := []attribute.KeyValue{
		KeyKind.String(string(KindFunction)), semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda,
		semconv.FaaSTriggerOther, semconv.FaaSColdstart(f.ColdStart),
	}
	add := func(kv attribute.KeyValue) {
		if kv.Value.AsString() != "" {
			attrs = append(attrs, kv)
		}
	}
	add(semconv.FaaSName(f.Name))
	add(semconv.FaaSVersion(f.Version))
	add(semconv.CloudRegion(f.Region))
	add(semconv.CloudResourceID(f.ARN))
	add(semconv.AWSLambdaInvokedARN(f.ARN))
	add(semconv.FaaSInvocationID(f.RequestID))
	add(semconv.AWSRequestID(f.RequestID))
	if f.MemoryMB > 0 {
		attrs = append(attrs, semconv.FaaSMaxMemory(f.MemoryMB<<20), KeyMemoryMB.Int(f.MemoryMB))
	}
	var links []trace.Link
	if sc, ok := XRay(f.XRay); ok {
		links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("link.source", "x-ray")}})
	}
	return r.start(ctx, NameFunction, trace.SpanKindServer, attrs, links...)
}
