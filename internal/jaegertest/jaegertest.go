// Package jaegertest runs a Jaeger for tests, like net/http/httptest: the
// pinned all-in-one binary (`make jaeger`, from tools/jaeger/go.mod) with
// in-memory storage, receiving OTLP/HTTP and serving its query API, each on
// a free port of 127.0.0.1, stopped in t.Cleanup.
//
// When the binary is missing the test fails in CI (the CI environment
// variable is set) and is skipped elsewhere.
package jaegertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is the name of the Jaeger binary on PATH or in $(go env GOPATH)/bin.
const Binary = "jaeger"

// startTimeout bounds how long Jaeger may take to start serving.
const startTimeout = 30 * time.Second

// Server is a running Jaeger.
type Server struct {
	// OTLPEndpoint is its OTLP/HTTP receiver, http://127.0.0.1:port, to
	// set as OTEL_EXPORTER_OTLP_ENDPOINT.
	OTLPEndpoint string
	// QueryURL is its query API and UI, http://127.0.0.1:port.
	QueryURL string

	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// config is Jaeger's configuration: an OpenTelemetry Collector pipeline
// from an OTLP/HTTP receiver to in-memory storage, which the query
// extension reads. Every listener is on 127.0.0.1; its own metrics are off.
const config = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memory_store
    enable_tracing: false
    http:
      endpoint: %s
    grpc:
      endpoint: %s
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
`

// Start starts Jaeger and waits until it receives and serves.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := tool(t)
	dir := t.TempDir()
	otlp, query, queryGRPC := freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, query, queryGRPC, otlp)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{
		OTLPEndpoint: "http://" + otlp, QueryURL: "http://" + query,
		logPath: filepath.Join(dir, "jaeger.log"), done: make(chan struct{}),
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "--config", cfg)
	// Without the test's OTEL_* variables, which would have Jaeger trace
	// itself into the collector under test.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OTEL_") {
			s.cmd.Env = append(s.cmd.Env, e)
		}
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	s.waitReady(t, otlp)
	return s
}

// stop sends Jaeger SIGTERM, then SIGKILL after a grace period.
func (s *Server) stop(t testing.TB) {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
		return
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	t.Errorf("jaeger did not stop on SIGTERM within 5s:\n%s", s.Log())
}

// waitReady waits until the OTLP receiver accepts connections and the query
// API answers.
func (s *Server) waitReady(t testing.TB, otlp string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		ready := false
		if c, err := net.DialTimeout("tcp", otlp, time.Second); err == nil {
			c.Close()
			resp, err := http.Get(s.QueryURL + "/api/services")
			if err == nil {
				resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK
			}
		}
		if ready {
			return
		}
		select {
		case <-s.done:
			t.Fatalf("jaeger exited before it was ready:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger not ready after %v:\n%s", startTimeout, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is what Jaeger wrote so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Trace is a trace as Jaeger's query API returns it.
type Trace struct {
	ID    string
	Spans []Span
}

// Span is a span of a Trace.
type Span struct {
	TraceID, SpanID string
	ParentID        string // the CHILD_OF reference's span, "" for a root
	Name            string
	Service         string
	Start           time.Time
	Duration        time.Duration
	Tags            map[string]any // values as JSON decodes them
	Error           bool           // the span has an error status
}

// Traces returns the traces of service that Jaeger holds.
func (s *Server) Traces(ctx context.Context, service string) ([]Trace, error) {
	q := url.Values{"service": {service}, "limit": {"100"}, "lookback": {"1h"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.QueryURL+"/api/traces?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query jaeger: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query jaeger: %s", resp.Status)
	}
	var body struct {
		Data []struct {
			TraceID string `json:"traceID"`
			Spans   []struct {
				TraceID       string `json:"traceID"`
				SpanID        string `json:"spanID"`
				OperationName string `json:"operationName"`
				References    []struct {
					RefType string `json:"refType"`
					SpanID  string `json:"spanID"`
				} `json:"references"`
				StartTime int64 `json:"startTime"` // µs
				Duration  int64 `json:"duration"`  // µs
				Tags      []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"tags"`
				ProcessID string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode jaeger's traces: %w", err)
	}
	var traces []Trace
	for _, d := range body.Data {
		tr := Trace{ID: d.TraceID}
		for _, sp := range d.Spans {
			span := Span{
				TraceID: sp.TraceID, SpanID: sp.SpanID, Name: sp.OperationName,
				Service: d.Processes[sp.ProcessID].ServiceName,
				Start:   time.UnixMicro(sp.StartTime), Duration: time.Duration(sp.Duration) * time.Microsecond,
				Tags: map[string]any{},
			}
			for _, r := range sp.References {
				if r.RefType == "CHILD_OF" {
					span.ParentID = r.SpanID
				}
			}
			for _, tag := range sp.Tags {
				span.Tags[tag.Key] = tag.Value
			}
			span.Error = span.Tags["error"] == true || span.Tags["otel.status_code"] == "ERROR"
			tr.Spans = append(tr.Spans, span)
		}
		traces = append(traces, tr)
	}
	return traces, nil
}

// WaitSpans polls Traces until service's traces hold at least n spans in
// all, and returns them; it fails the test after 15 seconds.
func (s *Server) WaitSpans(t testing.TB, service string, n int) []Trace {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		traces, err := s.Traces(t.Context(), service)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, tr := range traces {
			got += len(tr.Spans)
		}
		if got >= n {
			return traces
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger holds %d spans of %s after 15s, want %d:\n%s", got, service, n, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tool returns the path of the Jaeger binary: on PATH or in
// $(go env GOPATH)/bin. When it is missing, the test fails in CI and is
// skipped elsewhere.
func tool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath(Binary); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if out, err := exec.Command(goBin, "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", Binary)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "jaeger is not installed; run `make jaeger` to build the pinned version (it takes minutes)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("skipped outside CI: " + msg)
	return ""
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
